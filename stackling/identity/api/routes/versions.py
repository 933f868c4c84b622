"""Version discovery at /identity and /identity/v3."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stackling.common.http import base_url

router = APIRouter(tags=["versions"])

VERSION_ID = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"


def version_doc(request: Request) -> dict[str, Any]:
    """The v3 version resource."""
    return {
        "id": VERSION_ID,
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": base_url(request, "/identity/v3/")}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


@router.get("/identity")
@router.get("/identity/")
async def versions(request: Request) -> JSONResponse:
    """Every API version (only v3), with 300 Multiple Choices as Keystone answers."""
    return JSONResponse({"versions": {"values": [version_doc(request)]}}, status_code=300)


@router.get("/identity/v3")
@router.get("/identity/v3/")
async def v3(request: Request) -> dict[str, Any]:
    """The v3 version document."""
    return {"version": version_doc(request)}
