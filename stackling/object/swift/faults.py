"""Swift's errors: short HTML or text bodies, as its proxy sends them."""

from __future__ import annotations

from html import escape

from stackling.common import errors

# Swift's canned bodies for the statuses whose body clients never parse.
_CANNED = {
    401: "This server could not verify that you are authorized to access the document "
    "you requested.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    409: "There was a conflict when trying to complete your request.",
    413: "The body of your request was too large for this server.",
    416: "The Range requested is not available.",
    499: "The client disconnected during request.",
}


def body_for(err: errors.StacklingError) -> bytes:
    """The body of an error response."""
    canned = _CANNED.get(err.status)
    if canned is not None and (err.message == err.title or err.status in (401, 404)):
        return f"<html><h1>{escape(err.title)}</h1><p>{escape(canned)}</p></html>".encode()
    return err.message.encode()


def content_type_for(err: errors.StacklingError) -> str:
    """HTML for the canned bodies, text otherwise."""
    if err.status in _CANNED and (err.message == err.title or err.status in (401, 404)):
        return "text/html; charset=UTF-8"
    return "text/plain; charset=utf-8"
