"""Version discovery: GET /volume/ (300, every version) and GET /volume/v3/ (this one)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stackling.volume.api import microversion, views
from stackling.volume.api.deps import PREFIX, V3

router = APIRouter(tags=["versions"])
# When this API's newest microversion appeared (Cinder 3.70: Zed).
UPDATED = "2022-08-31T00:00:00Z"


def _doc(request: Request) -> dict[str, object]:
    root = str(request.base_url).rstrip("/") + PREFIX
    entry = views.version_doc(root, UPDATED, str(microversion.MIN), str(microversion.MAX))
    return {"versions": [entry]}


@router.get(PREFIX, include_in_schema=False)
@router.get(f"{PREFIX}/")
async def versions(request: Request) -> JSONResponse:
    """Every version of the API (Cinder answers 300 Multiple Choices)."""
    return JSONResponse(_doc(request), status_code=300)


@router.get(V3, include_in_schema=False)
@router.get(f"{V3}/")
async def version_v3(request: Request) -> JSONResponse:
    """The v3 API's version document."""
    return JSONResponse(_doc(request))
