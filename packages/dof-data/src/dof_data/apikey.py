"""The Flickr API key: read from the environment or a key file, never printed.

:class:`ApiKey` hides its value from ``repr``, ``str`` and f-strings; only :meth:`ApiKey.reveal`
returns it, and the only caller of that is the HTTP request body in :mod:`dof_data.flickr`.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from dof_data.errors import ApiKeyError

log = logging.getLogger(__name__)

#: Environment variable holding the key itself.
KEY_ENV = "DOF_FLICKR_API_KEY"
#: Environment variable naming a file that holds the key.
KEY_FILE_ENV = "DOF_FLICKR_API_KEY_FILE"

REDACTED = "***"


class ApiKey:
    """A Flickr API key that does not show itself.

    Args:
        value: the key as Flickr issued it (32 hex characters today; any non-blank token is
            accepted so that a future format still works).

    Raises:
        ApiKeyError: when the value is blank or contains whitespace.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        value = value.strip()
        if not value or any(ch.isspace() for ch in value):
            raise ApiKeyError(
                "the Flickr API key is blank or contains spaces; put the key alone on one line "
                f"in the key file, or set {KEY_ENV}"
            )
        self._value = value

    def reveal(self) -> str:
        """The key itself, for the request body only."""
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the key replaced by ``***``."""
        return text.replace(self._value, REDACTED)

    def __repr__(self) -> str:
        return f"ApiKey('{REDACTED}')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("ApiKey cannot be pickled; pass the key file or environment instead")


def load_api_key(
    key_file: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> ApiKey:
    """Find the Flickr API key.

    Order: ``key_file`` when given, then ``$DOF_FLICKR_API_KEY``, then the file named by
    ``$DOF_FLICKR_API_KEY_FILE``. A key file holds the key on its first line that is neither
    blank nor a ``#`` comment.

    Raises:
        ApiKeyError: when no key is found or the file cannot be read; the message says where
            the key may go. It never contains the key.
    """
    env = os.environ if environ is None else environ
    if key_file is not None:
        return _read_key_file(Path(key_file))
    if env.get(KEY_ENV, "").strip():
        return ApiKey(env[KEY_ENV])
    if env.get(KEY_FILE_ENV, "").strip():
        return _read_key_file(Path(env[KEY_FILE_ENV]))
    raise ApiKeyError(
        f"no Flickr API key: set {KEY_ENV}, or put the key in a file and pass --key-file "
        f"(or set {KEY_FILE_ENV}); get a key at https://www.flickr.com/services/apps/create/"
    )


def _read_key_file(path: Path) -> ApiKey:
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as err:
        raise ApiKeyError(f"cannot read the key file {path} ({err.strerror})") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("key file %s is readable by other users; consider chmod 600", path)
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return ApiKey(line)
    raise ApiKeyError(f"the key file {path} holds no key (only blank or # lines)")
