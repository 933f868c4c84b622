"""GET /placement: the one major version and its microversion range (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from stackling.placement.api.deps import PREFIX
from stackling.placement.api.microversion import MAX, MIN
from stackling.placement.api.route import PlacementRoute

router = APIRouter(tags=["placement-versions"], route_class=PlacementRoute)


@router.get(PREFIX)
@router.get(f"{PREFIX}/")
async def versions() -> dict[str, Any]:
    """Placement's version document."""
    return {
        "versions": [
            {
                "id": "v1.0",
                "max_version": str(MAX),
                "min_version": str(MIN),
                "status": "CURRENT",
                "links": [{"rel": "self", "href": ""}],
            }
        ]
    }
