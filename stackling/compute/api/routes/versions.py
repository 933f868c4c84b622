"""Version discovery at /compute and /compute/v2.1."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stackling.common.http import base_url
from stackling.compute.api import microversion

router = APIRouter(tags=["compute-versions"])

_UPDATED = "2013-07-23T11:33:21Z"


def _v21(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": str(microversion.MAX),
        "min_version": str(microversion.MIN),
        "updated": _UPDATED,
        "links": [{"rel": "self", "href": base_url(request, "/compute/v2.1/")}],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            }
        ],
    }


def _v20(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": base_url(request, "/compute/v2/")}],
    }


@router.get("/compute")
@router.get("/compute/")
async def versions(request: Request) -> JSONResponse:
    """The API versions: v2.0 first, as Nova lists them (clients use v2.1)."""
    return JSONResponse({"versions": [_v20(request), _v21(request)]})


@router.get("/compute/v2.1")
@router.get("/compute/v2.1/")
async def version(request: Request) -> JSONResponse:
    """The v2.1 version document, with the microversion range."""
    return JSONResponse({"version": _v21(request)})


@router.get("/compute/v2")
@router.get("/compute/v2/")
async def version_v2(request: Request) -> JSONResponse:
    """The legacy v2.0 version document (its API is v2.1 without microversions)."""
    return JSONResponse({"version": _v20(request)})
