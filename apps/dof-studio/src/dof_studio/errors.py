"""Errors the studio answers with: a status code and one line the page shows as it is."""

from __future__ import annotations


class StudioError(Exception):
    """A request the studio cannot serve; ``message`` is shown to the user, ``status`` is HTTP."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class UploadTooLargeError(StudioError):
    """An upload over the byte limit (413)."""

    status = 413


class NotOpenError(StudioError):
    """A photo or job the studio no longer holds (404)."""

    status = 404


class ForbiddenError(StudioError):
    """A request from another site, or one without the page's own content type (403)."""

    status = 403


class BusyError(StudioError):
    """Too much work waiting already: a full queue of renders or of uploads (503)."""

    status = 503
