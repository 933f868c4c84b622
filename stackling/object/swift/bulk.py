"""Bulk operations: many deletes in one request, and uploads from a tar archive."""

from __future__ import annotations

from starlette.responses import Response

from stackling.common import errors
from stackling.object.swift.call import Call


async def delete(call: Call) -> Response:
    """POST ?bulk-delete: delete the listed objects and empty containers."""
    raise errors.NotImplementedYet("Bulk delete is not supported yet.")


async def extract(call: Call) -> Response:
    """PUT ?extract-archive=tar|tar.gz|tar.bz2: create the archive's files as objects."""
    raise errors.NotImplementedYet("Archive extraction is not supported yet.")
