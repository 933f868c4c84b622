"""Static large objects: manifests of segments, checked when written."""

from __future__ import annotations

from starlette.responses import Response

from stackling.common import errors
from stackling.object import models as m
from stackling.object.swift.call import Call


async def put_manifest(call: Call, name: str) -> Response:
    """PUT ?multipart-manifest=put: validate the segments and store the manifest."""
    raise errors.NotImplementedYet("Static large objects are not supported yet.")


async def delete_manifest(call: Call, container: m.ObjectContainer, name: str) -> Response:
    """DELETE ?multipart-manifest=delete: the manifest and its segments."""
    raise errors.NotImplementedYet("Static large objects are not supported yet.")
