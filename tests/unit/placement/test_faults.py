"""Placement's error body."""

from __future__ import annotations

from stackling.common import errors
from stackling.common.middleware import request_id_var
from stackling.placement.errors import ConcurrentUpdate, VersionNotAcceptable
from stackling.placement.faults import placement_fault


def test_body_has_status_title_detail_request_id_and_code() -> None:
    token = request_id_var.set("req-123")
    try:
        body = placement_fault(errors.NotFound("No resource provider with uuid x found"))
    finally:
        request_id_var.reset(token)
    (error,) = body["errors"]
    assert error["status"] == 404 and error["title"] == "Not Found"
    assert error["detail"].endswith("No resource provider with uuid x found")
    assert error["request_id"] == "req-123"
    assert error["code"] == "placement.undefined_code"


def test_specific_codes_and_version_range() -> None:
    (error,) = placement_fault(ConcurrentUpdate("stale"))["errors"]
    assert (error["status"], error["code"]) == (409, "placement.concurrent_update")
    (error,) = placement_fault(VersionNotAcceptable("nope", min_version="1.0", max_version="1.39"))[
        "errors"
    ]
    assert error["status"] == 406
    assert (error["min_version"], error["max_version"]) == ("1.0", "1.39")
