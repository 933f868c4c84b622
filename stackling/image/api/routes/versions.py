"""Version discovery at /image, /image/versions and /image/v2."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stackling.common.http import base_url

router = APIRouter(tags=["image-versions"])

# Newest first, as Glance lists them; 2.17 (new location API) is not offered.
VERSIONS = [f"2.{minor}" for minor in range(16, -1, -1)]
CURRENT = VERSIONS[0]


def versions_doc(request: Request) -> dict[str, Any]:
    """Every v2 minor version, each linking to the one v2 root."""
    href = base_url(request, "/image/v2/")
    return {
        "versions": [
            {
                "id": f"v{version}",
                "status": "CURRENT" if version == CURRENT else "SUPPORTED",
                "links": [{"rel": "self", "href": href}],
            }
            for version in VERSIONS
        ]
    }


@router.get("/image")
@router.get("/image/")
@router.get("/image/v2")
@router.get("/image/v2/")
async def multiple_choices(request: Request) -> JSONResponse:
    """Glance answers its roots with 300 Multiple Choices and the version list."""
    return JSONResponse(versions_doc(request), status_code=300)


@router.get("/image/versions")
async def versions(request: Request) -> dict[str, Any]:
    """The version list with 200, for clients that ask for it by name."""
    return versions_doc(request)
