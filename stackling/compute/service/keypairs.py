"""Key pairs: a user's public keys (ssh or x509), imported or generated, under a per-user quota."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.service import access, checks, quota
from stackling.compute.service.core import ComputeService

_NAME_OLD = re.compile(r"^[a-zA-Z0-9 _-]+$")
# 2.92 also allows '@' and '.'.
_NAME_292 = re.compile(r"^[a-zA-Z0-9 @._-]+$")
_POLICY = "os_compute_api:os-keypairs:{}"


@dataclass(slots=True)
class Created:
    """A new key pair, with its private key when this cloud generated it."""

    keypair: m.KeyPair
    private_key: str | None = None


class InvalidKeypair(errors.BadRequest):
    """Nova's InvalidKeypair: 400 with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Keypair data is invalid: {reason}")


def not_found(name: str, user_id: str | None) -> errors.NotFound:
    """Nova's 404 for a key pair."""
    return errors.NotFound(f"Keypair {name} not found for user {user_id}")


def target_user(ctx: RequestContext, user_id: str | None, action: str) -> str:
    """Whose key pairs a call is about: the caller's, or (admin only) the named user's."""
    if user_id is None or user_id == ctx.user_id:
        return ctx.user_id or ""
    if not ctx.is_admin:
        raise errors.Forbidden(f"Policy doesn't allow {_POLICY.format(action)} to be performed.")
    return user_id


# -- key material -------------------------------------------------------------


def ssh_fingerprint(public_key: str) -> str:
    """Nova's ssh fingerprint: md5 of the key blob, colon-separated hex; 400 for a bad key."""
    try:
        key = serialization.load_ssh_public_key(public_key.strip().encode())
        line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        blob = base64.b64decode(line.split()[1])
    except Exception:  # cryptography raises ValueError, UnsupportedAlgorithm and others
        raise InvalidKeypair("failed to generate fingerprint") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def x509_fingerprint(pem: str) -> str:
    """Nova's x509 fingerprint: sha1 of the certificate, colon-separated hex."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except Exception as exc:
        raise InvalidKeypair(f"failed to generate X509 fingerprint. Error message: {exc}") from None
    return ":".join(f"{byte:02x}" for byte in cert.fingerprint(hashes.SHA1()))


def _generate_ssh(name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public.decode() + " Generated-by-Nova\n"


def _generate_x509(user_id: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id or "stackling")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return private, cert.public_bytes(serialization.Encoding.PEM).decode()


# -- requests -------------------------------------------------------------------


def _check_name(value: Any, mv: Version) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise InvalidKeypair("Keypair name must be string and between 1 and 255 characters long")
    pattern = _NAME_292 if mv.at_least("2.92") else _NAME_OLD
    if value != value.strip() or not pattern.match(value):
        raise InvalidKeypair("Keypair name contains unsafe characters")
    return value


@dataclass(slots=True)
class CreateRequest:
    """A checked POST /os-keypairs body."""

    name: str
    type: str
    public_key: str | None
    user_id: str | None


def parse_create(body: dict[str, Any], mv: Version) -> CreateRequest:
    """The key pair a POST /os-keypairs asks for; 400 for what Nova's schema refuses."""
    checks.only(body, ("keypair",), "body")
    data = checks.obj(body.get("keypair"), "keypair")
    allowed = ["name", "public_key"]
    if mv.at_least("2.2"):
        allowed.append("type")
    if mv.at_least("2.10"):
        allowed.append("user_id")
    checks.only(data, allowed, "keypair")
    needed = ("name", "public_key") if mv.at_least("2.92") else ("name",)
    checks.required(data, needed, "keypair")
    kind = data.get("type", "ssh")
    if kind not in ("ssh", "x509"):
        raise checks.invalid("type", kind, f"{kind!r} is not one of ['ssh', 'x509']")
    public_key = data.get("public_key")
    if public_key is not None and not isinstance(public_key, str):
        raise checks.invalid("public_key", public_key, f"{public_key!r} is not of type 'string'")
    user_id = data.get("user_id")
    if user_id is not None:
        user_id = checks.string(user_id, "user_id", min_length=1)
    return CreateRequest(_check_name(data["name"], mv), kind, public_key, user_id)


async def create(
    svc: ComputeService, ctx: RequestContext, body: dict[str, Any], mv: Version
) -> Created:
    """POST /os-keypairs: import a public key, or (before 2.92) generate a key pair."""
    access.require_member(ctx)
    req = parse_create(body, mv)
    user_id = target_user(ctx, req.user_id, "create")
    private_key = None
    public_key = req.public_key
    if public_key is None:
        # RSA generation takes a noticeable moment: keep it off the event loop.
        make = _generate_x509 if req.type == "x509" else _generate_ssh
        private_key, public_key = await asyncio.to_thread(
            make, user_id if req.type == "x509" else req.name
        )
    fingerprint = (
        x509_fingerprint(public_key) if req.type == "x509" else ssh_fingerprint(public_key)
    )

    async def _create(s: AsyncSession) -> m.KeyPair:
        await quota.lock_project(s, ctx.project_id or "")
        limits = await quota.limits_for(s, svc.conf, ctx.project_id or "", user_id)
        count = await s.scalar(select(func.count(m.KeyPair.id)).where(m.KeyPair.user_id == user_id))
        limit = limits["key_pairs"]
        if limit >= 0 and int(count or 0) + 1 > limit:
            raise errors.QuotaExceeded("Quota exceeded, too many key pairs.")
        if await _find(s, user_id, req.name) is not None:
            raise _exists(req.name)
        keypair = m.KeyPair(
            user_id=user_id, name=req.name, type=req.type, public_key=public_key,
            fingerprint=fingerprint, created_at=m.now(),
        )  # fmt: skip
        s.add(keypair)
        await s.flush()
        return keypair

    try:
        keypair = await svc.tx(_create)
    except IntegrityError:
        raise _exists(req.name) from None
    return Created(keypair, private_key)


def _exists(name: str) -> errors.Conflict:
    return errors.Conflict(f"Key pair '{name}' already exists.")


async def _find(s: AsyncSession, user_id: str, name: str) -> m.KeyPair | None:
    return await s.scalar(
        select(m.KeyPair).where(m.KeyPair.user_id == user_id, m.KeyPair.name == name)
    )


async def list_keypairs(
    svc: ComputeService,
    ctx: RequestContext,
    *,
    user_id: str | None = None,
    limit: int | None = None,
    marker: str | None = None,
) -> list[m.KeyPair]:
    """A user's key pairs by name (2.35 pages them with limit and a name marker)."""
    access.require_reader(ctx)
    owner = target_user(ctx, user_id, "index")
    query = select(m.KeyPair).where(m.KeyPair.user_id == owner)
    async with svc.db.session() as s:
        if marker is not None:
            if await _find(s, owner, marker) is None:
                raise errors.BadRequest(f"Marker {marker} could not be found.")
            query = query.where(m.KeyPair.name > marker)
        size = svc.conf.api_max_limit if not limit else min(limit, svc.conf.api_max_limit)
        rows = await s.scalars(query.order_by(m.KeyPair.name, m.KeyPair.id).limit(size))
        return list(rows.all())


async def show(
    svc: ComputeService, ctx: RequestContext, name: str, user_id: str | None = None
) -> m.KeyPair:
    """One key pair of the caller (or, for admin from 2.10, of `user_id`)."""
    access.require_reader(ctx)
    owner = target_user(ctx, user_id, "show")
    async with svc.db.session() as s:
        keypair = await _find(s, owner, name)
    if keypair is None:
        raise not_found(name, owner)
    return keypair


async def delete(
    svc: ComputeService, ctx: RequestContext, name: str, user_id: str | None = None
) -> None:
    """Delete a key pair; servers keep the public key they were built with."""
    access.require_member(ctx)
    owner = target_user(ctx, user_id, "delete")

    async def _delete(s: AsyncSession) -> None:
        keypair = await _find(s, owner, name)
        if keypair is None:
            raise not_found(name, owner)
        await s.delete(keypair)

    await svc.tx(_delete)


async def keypair_for_boot(svc: ComputeService, ctx: RequestContext, name: Any) -> m.KeyPair:
    """The caller's key pair a server create, rebuild or update names; 400 when it has none."""
    if not isinstance(name, str) or not name:
        raise errors.BadRequest("Invalid key_name provided.")
    async with svc.db.session() as s:
        keypair = await _find(s, ctx.user_id or "", name)
    if keypair is None:
        raise errors.BadRequest("Invalid key_name provided.")
    return keypair
