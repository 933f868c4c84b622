"""Who an S3 request acts for: an EC2 credential's user on its project, or nobody.

A signed request acts for the credential's user on the credential's project,
with the roles that user holds there; like Swift's keystoneauth, only the
project's operators may use its buckets. An anonymous request may only read
objects of a bucket whose Swift read ACL lets anyone read (`.r:*`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.object.s3 import sigv4
from stackling.object.s3.call import BodyFilter, S3Call
from stackling.object.s3.errors import S3Error
from stackling.object.service import containers
from stackling.object.swift import acl
from stackling.object.swift.call import OPERATOR_ROLES, RESELLER_ROLE


async def authenticate(call: S3Call) -> None:
    """Set the call's caller, project and body filter from its signature; raise if refused."""
    scope = call.request.scope
    auth = sigv4.parse(
        call.method,
        scope.get("raw_path") or scope["path"].encode(),
        scope.get("query_string", b""),
        call.headers,
        mount="/s3",
    )
    if auth is None:
        await _anonymous(call)
        return
    from stackling.identity.service import credentials

    idn = call.runtime.service("identity").idn
    try:
        user_id, project_id, secret = await credentials.ec2_lookup(idn, auth.access_key)
    except errors.Unauthorized:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=auth.access_key) from None
    auth.verify(secret, datetime.now(UTC))
    call.ctx = await context_for(call, user_id, project_id)
    call.project_id = project_id
    call.body_filter = _body_filter(auth, secret)


def _body_filter(auth: sigv4.AuthRequest, secret: str) -> BodyFilter:
    declared = auth.payload_sha256
    if isinstance(auth, sigv4.SigV4Request) and auth.streaming:
        return lambda chunks: auth.chunk_decoder(secret, chunks)
    if declared == sigv4.STREAMING_UNSIGNED_TRAILER:
        return sigv4.decode_aws_chunked_unsigned
    if declared is not None and sigv4.PayloadCheck.applies(declared):
        return lambda chunks: sigv4.PayloadCheck(declared).wrap(chunks)
    return _same


def _same(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    return chunks


async def context_for(call: S3Call, user_id: str, project_id: str) -> RequestContext:
    """The context of a user acting on a project, as a project-scoped token would carry it."""
    from stackling.identity.service import assignments, resources, users

    idn = call.runtime.service("identity").idn
    try:
        user = await users.get_user(idn, user_id)
        project, _ = await resources.get_project(idn, project_id)
    except errors.NotFound:
        raise S3Error("InvalidAccessKeyId") from None
    if not user.enabled or not project.enabled:
        raise S3Error("AccessDenied")
    roles = await assignments.effective_roles(
        idn, user_id, assignments.Target("project", project_id)
    )
    names = frozenset(r.name.lower() for r in roles)
    # As keystoneauth: only the project's operators (or a reseller admin) use its storage.
    if not names & (OPERATOR_ROLES | {RESELLER_ROLE}):
        raise S3Error("AccessDenied")
    return RequestContext(
        request_id=call.request_id,
        user_id=user.id,
        user_name=user.name,
        user_domain_id=user.domain_id,
        project_id=project.id,
        project_name=project.name,
        project_domain_id=project.domain_id,
        roles=names,
        role_ids=frozenset(r.id for r in roles),
    )


async def _anonymous(call: S3Call) -> None:
    """Let an anonymous object read through when exactly one bucket of that name is public."""
    if call.method not in ("GET", "HEAD") or call.bucket is None or call.key is None:
        raise S3Error("AccessDenied")
    if set(call.query) & sigv4.SIGV2_SUBRESOURCES - _READ_OVERRIDES:
        raise S3Error("AccessDenied")
    rows = await containers.named(call.svc, call.bucket)
    referrer = call.headers.get("referer")
    public = [
        row
        for row in rows
        if acl.referrer_allows(acl.parse(row.meta.get("x-container-read")), referrer)
    ]
    # Bucket names are unique per project only: a name public in two projects is ambiguous.
    if len(public) != 1:
        raise S3Error("AccessDenied")
    call.project_id = public[0].project_id


_READ_OVERRIDES = frozenset(
    name for name in sigv4.SIGV2_SUBRESOURCES if name.startswith("response-")
)
