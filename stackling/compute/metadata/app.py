"""The metadata HTTP service, as Nova runs it behind Neutron's metadata proxy.

The proxy names the instance in X-Instance-ID, signed with a secret it shares
with this service; the app answers for that instance only. A guest cannot reach
this app directly: it talks to the proxy, which adds the headers.
"""

from __future__ import annotations

import html
import logging
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stackling.compute.metadata.signing import signature_matches
from stackling.compute.metadata.source import InstanceMetadataSource
from stackling.compute.metadata.tree import (
    TEXT_PLAIN,
    is_password_path,
    resolve,
    root_listing,
    split_path,
)

LOG = logging.getLogger(__name__)

# Nova keeps the password in four 255-character chunks.
MAX_PASSWORD_BYTES = 4 * 255

_TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
}
_EXPLANATIONS = {
    400: "The server could not comply with the request since it is either "
    "malformed or otherwise incorrect.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method is not allowed for this resource.",
    409: "There was a conflict when trying to complete your request.",
    500: "The server has either erred or is incapable of performing the requested operation.",
}


class MetadataBackend(Protocol):
    """Where the app gets instances from and keeps the guest's password."""

    shared_secret: bytes

    async def source_for(self, instance_id: str) -> InstanceMetadataSource | None:
        """The instance's metadata snapshot; None if there is no such instance."""
        ...

    async def set_password(self, instance_id: str, password: str) -> bool:
        """Record the guest's encrypted password; False if one is already set."""
        ...


class _Refused(Exception):
    def __init__(self, status: int, explanation: str | None = None) -> None:
        self.status = status
        self.explanation = explanation or _EXPLANATIONS[status]
        super().__init__(self.explanation)


def build_metadata_app(backend: MetadataBackend) -> Starlette:
    """The metadata API as an ASGI app: /, /openstack/... and the EC2 tree."""

    async def endpoint(request: Request) -> Response:
        path = request.path_params.get("path", "")
        try:
            if not split_path(path):
                # Nova lists the EC2 versions to anyone, before asking who it is.
                return Response(root_listing().body, media_type=TEXT_PLAIN)
            source = await _source_for(backend, request)
            if request.method == "POST":
                if not is_password_path(path):
                    raise _Refused(405)
                return await _post_password(backend, source, request)
            resolved = resolve(source, path)
            if not resolved.found:
                raise _Refused(404)
            return Response(resolved.body, media_type=resolved.content_type)
        except _Refused as refused:
            return _error(request, refused.status, refused.explanation)

    routes = [Route("/{path:path}", endpoint, methods=["GET", "HEAD", "POST"])]
    return Starlette(routes=routes)


async def _source_for(backend: MetadataBackend, request: Request) -> InstanceMetadataSource:
    headers = request.headers
    instance_ids = headers.getlist("x-instance-id")
    tenant_ids = headers.getlist("x-tenant-id")
    signatures = headers.getlist("x-instance-id-signature")
    if not instance_ids:
        raise _Refused(400, "X-Instance-ID header is missing from request.")
    if not signatures:
        raise _Refused(403, "X-Instance-ID-Signature header is missing from request.")
    if not tenant_ids:
        raise _Refused(400, "X-Tenant-ID header is missing from request.")
    if len(instance_ids) > 1:
        raise _Refused(400, "Multiple X-Instance-ID headers found within request.")
    if len(tenant_ids) > 1:
        raise _Refused(400, "Multiple X-Tenant-ID headers found within request.")
    instance_id, tenant_id = instance_ids[0], tenant_ids[0]
    # Only the signature says the proxy vouches for this id; check it before
    # looking anything up, so a forger learns nothing about which ids exist.
    if len(signatures) > 1 or not signature_matches(
        backend.shared_secret, instance_id, signatures[0]
    ):
        # %r: the id is not yet trusted, so keep it from forging log lines.
        LOG.warning("Metadata request for %r with a bad signature", instance_id)
        raise _Refused(403, "Invalid proxy request signature.")
    try:
        source = await backend.source_for(instance_id)
    except Exception:
        LOG.exception("Failed to get metadata for instance %s", instance_id)
        raise _Refused(
            500, "An unknown error has occurred. Please try your request again."
        ) from None
    if source is None or source.uuid != instance_id:
        raise _Refused(404)
    if source.project_id != tenant_id:
        LOG.warning("Metadata request for %s names project %s", instance_id, tenant_id)
        raise _Refused(403, "The tenant does not own this instance.")
    return source


async def _post_password(
    backend: MetadataBackend, source: InstanceMetadataSource, request: Request
) -> Response:
    if source.password:
        raise _Refused(409)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PASSWORD_BYTES:
        raise _Refused(400, "Request is too large.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PASSWORD_BYTES:
            raise _Refused(400, "Request is too large.")
    try:
        password = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(400, "The password must be UTF-8 text.") from None
    # An empty password leaves none set, as in Nova: the guest may post again.
    if password and not await backend.set_password(source.uuid, password):
        raise _Refused(409)
    return Response(b"", media_type=TEXT_PLAIN)


def _error(request: Request, status: int, explanation: str) -> Response:
    """An error in the shape Nova's WSGI stack gives it: HTML, or text if HTML is unwanted."""
    title = f"{status} {_TITLES[status]}"
    headers = {"Allow": "GET, HEAD"} if status == 405 else None
    accept = request.headers.get("accept", "")
    if not accept or "text/html" in accept or "*/*" in accept:
        body = (
            f"<html>\n <head>\n  <title>{title}</title>\n </head>\n <body>\n"
            f"  <h1>{title}</h1>\n  {html.escape(explanation)}<br /><br />\n\n\n"
            " </body>\n</html>"
        )
        return Response(body, status, headers=headers, media_type="text/html")
    return Response(f"{title}\n\n{explanation}\n\n", status, headers=headers, media_type=TEXT_PLAIN)
