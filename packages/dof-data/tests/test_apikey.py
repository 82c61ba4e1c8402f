from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from dof_data import KEY_ENV, KEY_FILE_ENV, ApiKey, ApiKeyError, load_api_key


def test_key_from_env(key: str) -> None:
    assert load_api_key(environ={KEY_ENV: f"  {key}\n"}).reveal() == key


def test_key_file_skips_comments_and_blank_lines(tmp_path: Path, key: str) -> None:
    path = tmp_path / "flickr.key"
    path.write_text(f"# my Flickr key\n\n{key}\n")
    path.chmod(0o600)
    assert load_api_key(path, environ={}).reveal() == key
    assert load_api_key(environ={KEY_FILE_ENV: str(path)}).reveal() == key


def test_explicit_key_file_wins_over_env(tmp_path: Path, key: str) -> None:
    path = tmp_path / "k"
    path.write_text("fromfile\n")
    path.chmod(0o600)
    assert load_api_key(path, environ={KEY_ENV: key}).reveal() == "fromfile"
    assert load_api_key(environ={KEY_ENV: key, KEY_FILE_ENV: str(path)}).reveal() == key


def test_missing_key_says_where_to_put_it() -> None:
    with pytest.raises(ApiKeyError, match=f"set {KEY_ENV}.*--key-file"):
        load_api_key(environ={})


def test_unreadable_or_empty_key_file(tmp_path: Path) -> None:
    with pytest.raises(ApiKeyError, match="cannot read the key file"):
        load_api_key(tmp_path / "absent", environ={})
    empty = tmp_path / "empty"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ApiKeyError, match="holds no key"):
        load_api_key(empty, environ={})


def test_world_readable_key_file_warns_without_the_key(
    tmp_path: Path, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "k"
    path.write_text(key)
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        load_api_key(path, environ={})
    assert "chmod 600" in caplog.text
    assert key not in caplog.text


def test_key_hides_itself(key: str) -> None:
    api_key = ApiKey(key)
    for text in (repr(api_key), str(api_key), f"{api_key}", f"{api_key!r}", f"{api_key}"):
        assert key not in text
    assert api_key.redact(f"url?api_key={key}&x=1") == "url?api_key=***&x=1"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(api_key)


@pytest.mark.parametrize("bad", ["", "   ", "two words"])
def test_blank_or_spaced_key_is_refused(bad: str) -> None:
    with pytest.raises(ApiKeyError, match="blank or contains spaces"):
        ApiKey(bad)
