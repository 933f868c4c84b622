"""Version discovery, the v2.0 resource index, extensions and availability zones."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stackling.common import errors
from stackling.common.http import base_url
from stackling.network.api.deps import PREFIX, V20, Context, NetworkDep
from stackling.network.extensions import BY_ALIAS, EXTENSIONS

router = APIRouter(tags=["network-root"])

# The core resources GET /v2.0 lists, as Neutron does (extensions add no entries).
_CORE = (("network", "networks"), ("subnet", "subnets"), ("subnetpool", "subnetpools"),
         ("port", "ports"))  # fmt: skip


def _version(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.0",
        "status": "CURRENT",
        "links": [{"href": base_url(request, V20) + "/", "rel": "self"}],
    }


@router.get(PREFIX)
@router.get(PREFIX + "/")
async def versions(request: Request) -> JSONResponse:
    """The API versions (only v2.0); no token needed, as with Neutron."""
    return JSONResponse({"versions": [_version(request)]})


@router.get(V20)
@router.get(V20 + "/")
async def resources(request: Request, ctx: Context) -> JSONResponse:
    """The core resources of v2.0 and where their collections are."""
    root = base_url(request, V20)
    return JSONResponse(
        {
            "resources": [
                {"name": name, "collection": collection,
                 "links": [{"href": f"{root}/{collection}", "rel": "self"}]}
                for name, collection in _CORE
            ]
        }
    )  # fmt: skip


@router.get(V20 + "/extensions")
async def list_extensions(ctx: Context) -> JSONResponse:
    """Every extension this cloud implements."""
    return JSONResponse({"extensions": [ext.as_dict() for ext in EXTENSIONS]})


@router.get(V20 + "/extensions/{alias}")
async def show_extension(alias: str, ctx: Context) -> JSONResponse:
    """One extension by its alias."""
    ext = BY_ALIAS.get(alias)
    if ext is None:
        raise errors.NotFound(f"Extension with alias {alias} does not exist")
    return JSONResponse({"extension": ext.as_dict()})


@router.get(V20 + "/availability_zones")
async def availability_zones(svc: NetworkDep, ctx: Context) -> JSONResponse:
    """The zones networks can be hinted to (every network is served in each)."""
    zones = [
        {"name": name, "resource": "network", "state": "available"}
        for name in svc.conf.availability_zones
    ]
    return JSONResponse({"availability_zones": zones})
