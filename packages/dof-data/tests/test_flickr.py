"""The REST client against the fake Flickr on 127.0.0.1."""

from __future__ import annotations

import socket
import traceback
from collections.abc import Callable

import pytest

from dof_data import ApiKey, FlickrAPIError, FlickrClient, RetryPolicy, SearchQuery
from dof_data.testing import FakeFlickr, FakePhoto

QUERY = SearchQuery(name="q", domain="B", text="portrait", per_page=4, sort="date-posted-desc")


def test_search_parses_a_page(
    key: str, coco_photos: Callable[..., list[FakePhoto]], fast_client: Callable[..., FlickrClient]
) -> None:
    photos = coco_photos(6)
    photos[2].sizes = ("c", "z")  # no 1600-pixel size: falls back to 800
    with FakeFlickr(photos, api_key=key) as fake:
        page = fast_client(fake).search(QUERY.params(), page=1, sizes=QUERY.sizes)
    assert (page.page, page.pages, page.per_page, page.total) == (1, 2, 4, 6)
    assert [hit.id for hit in page.photos] == ["1005", "1004", "1003", "1002"]  # newest first
    hit = {h.id: h for h in page.photos}["1002"]
    assert hit.url.endswith("/photos/1002_c.jpg")
    assert (hit.width, hit.height) == (photos[2].width, photos[2].height)
    assert hit.owner == photos[2].owner and hit.owner_name == "Owner 2"
    assert hit.license == "4"
    assert hit.page_url == f"https://www.flickr.com/photos/{photos[2].owner}/1002/"


def test_key_goes_in_the_post_body_never_in_the_url(
    key: str, coco_photos: Callable[..., list[FakePhoto]], fast_client: Callable[..., FlickrClient]
) -> None:
    with FakeFlickr(coco_photos(2), api_key=key) as fake:
        client = fast_client(fake)
        client.search(QUERY.params(), page=1, sizes=QUERY.sizes)
        client.licenses()
    assert [call["api_key"] for call in fake.api_calls] == [key, key]
    assert all(key not in target for target in fake.api_targets)
    assert key not in repr(client)
    assert {call["format"] for call in fake.api_calls} == {"json"}
    assert {call["nojsoncallback"] for call in fake.api_calls} == {"1"}


def test_licence_table_comes_from_the_api(
    key: str, fast_client: Callable[..., FlickrClient]
) -> None:
    with FakeFlickr([], api_key=key) as fake:
        table = fast_client(fake).licenses()
    assert table["4"].name == "CC BY 2.0"
    assert table["11"].name == "CC BY 4.0"  # newer than the built-in table


def test_429_with_retry_after_is_waited_out(
    key: str, coco_photos: Callable[..., list[FakePhoto]], fast_client: Callable[..., FlickrClient]
) -> None:
    with FakeFlickr(coco_photos(2), api_key=key, api_faults=["429"], retry_after="1") as fake:
        page = fast_client(fake).search(QUERY.params(), page=1, sizes=QUERY.sizes)
    assert page.total == 2
    assert len(fake.api_times) == 2
    assert fake.api_times[1] - fake.api_times[0] >= 0.95  # the server asked for 1 s


@pytest.mark.parametrize("fault", ["500", "503", "html", "fail105", "timeout"])
def test_transient_api_failures_are_retried(
    fault: str,
    key: str,
    coco_photos: Callable[..., list[FakePhoto]],
    fast_client: Callable[..., FlickrClient],
) -> None:
    with FakeFlickr(
        coco_photos(3), api_key=key, api_faults=[fault, fault], timeout_sleep=0.6
    ) as fake:
        page = fast_client(fake, timeout=0.3).search(QUERY.params(), page=1, sizes=QUERY.sizes)
    assert page.total == 3
    assert len(fake.api_calls) == 3


def test_persistent_failure_gives_up_after_the_attempts(
    key: str, fast_client: Callable[..., FlickrClient]
) -> None:
    with (
        FakeFlickr([], api_key=key, api_faults=["500"] * 10) as fake,
        pytest.raises(FlickrAPIError, match=r"HTTP 500 \(after 4 attempts\)"),
    ):
        fast_client(fake).licenses()
    assert len(fake.api_calls) == 4


def test_invalid_key_is_not_retried_and_says_what_to_check(
    coco_photos: Callable[..., list[FakePhoto]],
) -> None:
    wrong = "0123456789abcdef0123456789abcdef"
    with FakeFlickr(coco_photos(1), api_key="the-right-one") as fake:
        client = FlickrClient(ApiKey(wrong), base_url=fake.url)
        with pytest.raises(FlickrAPIError) as info:
            client.search(QUERY.params(), page=1, sizes=QUERY.sizes)
    assert info.value.code == 100
    assert "DOF_FLICKR_API_KEY" in str(info.value)
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    assert len(fake.api_calls) == 1


def test_connection_errors_never_show_the_key(key: str) -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/rest/?api_key={key}"  # even a key pasted in a URL
    client = FlickrClient(ApiKey(key), base_url=url, retry=RetryPolicy(attempts=2, base=0))
    with pytest.raises(FlickrAPIError) as info:
        client.licenses()
    assert "ConnectionError" in str(info.value)
    assert key not in str(info.value)
    assert key not in "".join(traceback.format_exception(info.value))  # the whole chain


def test_hostile_ids_are_dropped(key: str, fast_client: Callable[..., FlickrClient]) -> None:
    photo = FakePhoto(id="../../etc/passwd", data=b"", width=1, height=1)
    with FakeFlickr([photo], api_key=key) as fake:
        page = fast_client(fake).search(QUERY.params(), page=1, sizes=QUERY.sizes)
    assert page.total == 1 and page.photos == []
