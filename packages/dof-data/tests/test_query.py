from __future__ import annotations

import dataclasses

import pytest

from dof_data import ConfigError, SearchQuery, paper_queries, preset_queries
from dof_data.query import PAPER_EXCLUDE


def test_paper_preset_matches_the_paper() -> None:
    ordinary, bokeh = paper_queries()
    assert (ordinary.domain, bokeh.domain) == ("A", "B")
    a, b = ordinary.params(), bokeh.params()
    minus = " ".join(f"-{t}" for t in PAPER_EXCLUDE)
    assert a["text"] == f"portrait {minus}"
    assert b["text"] == f"portrait bokeh {minus}"
    assert "-blackandwhite -BW -monochrome -animal -cat -dog -bird -flower" in b["text"]
    assert a["camera"] == "apple/iphone_7" and "camera" not in b
    for params in (a, b):
        assert params["content_type"] == "1"
        assert params["media"] == "photos"
        assert params["per_page"] == "500"
        extras = params["extras"].split(",")
        assert extras.index("url_h") < extras.index("url_l")  # the 1600-pixel size first
        assert {"license", "owner_name", "o_dims", "date_upload"} <= set(extras)
        assert "sort" not in params  # the author's script used Flickr's default order
    assert ordinary.max_photos == bokeh.max_photos == 4000


def test_optional_arguments_are_sent_only_when_set() -> None:
    query = SearchQuery(
        name="q",
        domain="B",
        tags=("bokeh", "portrait"),
        tag_mode="all",
        license=(4, 5, 9),
        sort="relevance",
        content_type=None,
        min_taken="2016-01-01",
    )
    params = query.params()
    assert params["tags"] == "bokeh,portrait" and params["tag_mode"] == "all"
    assert params["license"] == "4,5,9"
    assert params["sort"] == "relevance"
    assert params["min_taken_date"] == "2016-01-01"
    assert "text" not in params and "content_type" not in params and "camera" not in params


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "has space"}, "name 'has space' must be"),
        ({"domain": "C"}, "domain must be 'A' or 'B'"),
        ({"text": "", "tags": ()}, "needs text or tags"),
        ({"exclude": ("two words",)}, "single words"),
        ({"sort": "best"}, "sort must be one of"),
        ({"sizes": ("q",)}, "sizes must be among"),
        ({"per_page": 501}, "per_page must be 1-500"),
        ({"max_photos": 0}, "max_photos must be >= 1"),
        ({"min_upload": 200, "max_upload": 100}, "after max_upload"),
    ],
)
def test_bad_queries_say_what_is_wrong(change: dict[str, object], message: str) -> None:
    base = SearchQuery(name="q", domain="A", text="portrait")
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(base, **change)  # type: ignore[arg-type]


def test_unknown_preset_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="valid presets: paper"):
        preset_queries("papr")
    assert [q.name for q in preset_queries("paper", max_photos=10)] == ["paper-A", "paper-B"]


def test_query_json_is_stable() -> None:
    query = paper_queries()[0]
    assert query.to_json() == dataclasses.replace(query).to_json()
    assert "api_key" not in query.to_json()


def test_queries_from_the_scrape_options() -> None:
    from dof_data import ConfigError, queries_from_options

    base = {
        "preset": None, "domain": "B", "text": "portrait", "tags": "bokeh, dof", "name": None,
        "exclude": ("bw",), "tag_mode": "all", "camera": None, "license": "4,5",
        "content_type": 1, "sort": None, "min_taken": None, "max_taken": None, "sizes": "h,l",
        "per_page": 100, "max_photos": 0, "min_upload": "2017-01-01", "max_upload": None,
    }  # fmt: skip
    (query,) = queries_from_options(base)
    assert (query.name, query.domain, query.tags, query.license) == (
        "custom-B", "B", ("bokeh", "dof"), (4, 5)
    )  # fmt: skip
    assert query.max_photos is None and query.min_upload == 1483228800
    assert [q.name for q in queries_from_options({**base, "preset": "paper"})] == [
        "paper-A", "paper-B"
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="give --preset paper, or --domain and --text"):
        queries_from_options({**base, "text": "", "tags": None})
