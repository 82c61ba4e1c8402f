"""Typed errors of dof-data. Every message says what came, what was expected and what to do.

None of them ever holds the Flickr API key: messages are built from redacted text only.
"""

from __future__ import annotations


class DofDataError(Exception):
    """Base class of every error dof-data raises."""


class ConfigError(DofDataError, ValueError):
    """An option or argument is out of range or inconsistent (a query, a split, a threshold)."""


class ApiKeyError(DofDataError):
    """No Flickr API key was found, or the key file is unusable."""


class ManifestError(DofDataError):
    """The SQLite manifest is missing, from a newer version, or inconsistent with the images."""


class TransientError(DofDataError):
    """A failure worth retrying: a timeout, a dropped connection, HTTP 429 or 5xx, a bad body.

    Attributes:
        reason: what went wrong, short, without the key.
        retry_after: seconds the server asked us to wait (``Retry-After``), if it said.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(reason)


class DownloadError(DofDataError):
    """A photo could not be downloaded and will not be retried in this run (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class FlickrAPIError(DofDataError):
    """Flickr answered ``{"stat": "fail"}``, or kept failing after every retry.

    Attributes:
        code: Flickr's error code (100 = invalid key, 105 = service unavailable, ...), or None
            when the failure was at the HTTP level.
        message: Flickr's message or the last transport failure, redacted.
    """

    def __init__(self, code: int | None, message: str, hint: str = "") -> None:
        self.code = code
        self.message = message
        text = f"Flickr API error {code}: {message}" if code is not None else message
        super().__init__(f"{text}. {hint}" if hint else text)


class UnsafeDataError(DofDataError):
    """Outside data (a manifest row, a server's answer) that would escape its folder or carry
    markup: a bad photo id, a path leading outside the dataset, a non-http(s) link."""
