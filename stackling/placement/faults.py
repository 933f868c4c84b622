"""Placement's error format: the API working group's `{"errors": [{status, title, detail...}]}`."""

from __future__ import annotations

from typing import Any

from stackling.common import errors
from stackling.common.middleware import request_id_var
from stackling.placement.errors import UNDEFINED, VersionNotAcceptable

# What webob says first for each status, before the error's own message; Placement's
# details read "<explanation>\n\n <message>" and some clients show them whole.
_EXPLANATIONS = {
    400: (
        "The server could not comply with the request since it is either malformed "
        "or otherwise incorrect."
    ),
    401: "This server could not verify that you are authorized to access the document "
    "you requested.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method specified is not allowed for this resource.",
    409: "There was a conflict when trying to complete your request.",
    413: "The request is larger than the server is willing or able to process.",
    415: "The request media type is not supported by this server.",
}


def placement_fault(err: errors.StacklingError) -> dict[str, Any]:
    """One error in Placement's list-of-errors body, with its request id and code."""
    explanation = _EXPLANATIONS.get(err.status)
    detail = f"{explanation}\n\n {err.message}" if explanation else err.message
    body: dict[str, Any] = {
        "status": err.status,
        "title": err.title,
        "detail": detail,
        "request_id": request_id_var.get(),
        "code": getattr(err, "code", UNDEFINED),
    }
    if isinstance(err, VersionNotAcceptable):
        body["max_version"] = err.max_version
        body["min_version"] = err.min_version
    return {"errors": [body]}
