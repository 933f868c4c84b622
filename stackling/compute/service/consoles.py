"""Remote consoles: access URLs for a server's serial console, and their tokens.

A token is signed rather than stored: it names the instance, its host, the
console type and an expiry, with an HMAC under a key kept in the data dir. The
proxy checks the signature and, at connect time, that the instance is still
live on that host, so deleting a server ends what its tokens can reach.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute import states
from stackling.compute.service import access
from stackling.compute.service.core import ComputeService

# The console types of each protocol, as Nova's API accepts them.
PROTOCOL_TYPES: dict[str, tuple[str, ...]] = {
    "vnc": ("novnc", "xvpvnc"),
    "spice": ("spice-html5",),
    "rdp": ("rdp-html5",),
    "serial": ("serial",),
    "mks": ("webmks",),
}
# What this cloud serves; the rest are valid requests for consoles it has not enabled.
SERVED_TYPES = frozenset({"serial"})
SERIAL_PATH = "/compute/console/serial"


@dataclass(frozen=True, slots=True)
class ConsoleGrant:
    """What a valid token lets its bearer reach."""

    instance_uuid: str
    host: str
    console_type: str
    expires_at: int


def _key_path(svc: ComputeService) -> Path:
    return svc.settings.data_dir / "compute" / "console.key"


def _key(svc: ComputeService) -> bytes:
    """The signing key, made on first use and readable by this user only."""
    path = _key_path(svc)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".console.key.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, secrets.token_bytes(32))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # Linking fails if another request made the key first: both then use that one.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_token(svc: ComputeService, grant: ConsoleGrant) -> str:
    """A URL-safe token carrying `grant`, signed with the console key."""
    payload = json.dumps(
        [grant.instance_uuid, grant.host, grant.console_type, grant.expires_at],
        separators=(",", ":"),
    ).encode()
    signature = hmac.new(_key(svc), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def read_token(svc: ComputeService, token: str) -> ConsoleGrant | None:
    """The grant of a genuine, unexpired token; None for anything else."""
    body, _, sig = token.partition(".")
    try:
        payload, signature = _unb64(body), _unb64(sig)
    except (binascii.Error, ValueError):
        return None
    expected = hmac.new(_key(svc), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return None
    uuid, host, console_type, expires_at = json.loads(payload)
    if expires_at < time.time():
        return None
    return ConsoleGrant(uuid, host, console_type, expires_at)


def _parse_request(body: Any, mv: Version) -> tuple[str, str]:
    """(protocol, type) of a remote-consoles body, validated as Nova's schema does."""
    spec = body.get("remote_console") if isinstance(body, dict) else None
    if not isinstance(spec, dict) or set(spec) != {"protocol", "type"}:
        raise errors.BadRequest(
            "Invalid input for field/attribute remote_console: "
            "'protocol' and 'type' are required and nothing else is allowed."
        )
    protocol, kind = spec["protocol"], spec["type"]
    protocols = [p for p in PROTOCOL_TYPES if p != "mks" or mv.at_least("2.8")]
    if protocol not in protocols:
        raise errors.BadRequest(
            f"Invalid input for field/attribute protocol. Value: {protocol}. "
            f"{protocol!r} is not one of {protocols}"
        )
    types = [t for p in protocols for t in PROTOCOL_TYPES[p]]
    if kind not in types:
        raise errors.BadRequest(
            f"Invalid input for field/attribute type. Value: {kind}. {kind!r} is not one of {types}"
        )
    if kind not in PROTOCOL_TYPES[protocol]:
        raise errors.BadRequest(f"Invalid console type {kind} for protocol {protocol}.")
    return protocol, kind


async def _grant(svc: ComputeService, ctx: RequestContext, uuid: str, kind: str) -> ConsoleGrant:
    access.require_member(ctx)
    async with svc.db.session() as s:
        instance: m.Instance = await access.load_instance(s, ctx, uuid)
    if kind not in SERVED_TYPES:
        raise errors.BadRequest(f"Unavailable console type {kind}.")
    if instance.host is None or instance.vm_state != states.ACTIVE:
        raise errors.Conflict(f"Instance {uuid} is not ready")
    expires_at = int(time.time() + svc.conf.console_token_ttl_s)
    return ConsoleGrant(uuid, instance.host, kind, expires_at)


def _url(base: str, token: str) -> str:
    """The websocket URL of the proxy on the host the client reached."""
    scheme, _, rest = base.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{SERIAL_PATH}?token={token}"


async def remote_console(
    svc: ComputeService, ctx: RequestContext, uuid: str, body: Any, mv: Version, base: str
) -> dict[str, Any]:
    """POST /servers/{id}/remote-consoles (2.6+)."""
    protocol, kind = _parse_request(body, mv)
    grant = await _grant(svc, ctx, uuid, kind)
    url = _url(base, mint_token(svc, grant))
    return {"remote_console": {"protocol": protocol, "type": kind, "url": url}}


async def legacy_console(
    svc: ComputeService, ctx: RequestContext, uuid: str, arg: Any, protocol: str, base: str
) -> dict[str, Any]:
    """os-getSerialConsole and its siblings (2.1 to 2.5): {"console": {"type", "url"}}."""
    kind = arg.get("type") if isinstance(arg, dict) else None
    if kind not in PROTOCOL_TYPES[protocol]:
        raise errors.BadRequest(
            f"Invalid input for field/attribute type. Value: {kind}. "
            f"{kind!r} is not one of {list(PROTOCOL_TYPES[protocol])}"
        )
    grant = await _grant(svc, ctx, uuid, kind)
    return {"console": {"type": kind, "url": _url(base, mint_token(svc, grant))}}


async def show_token(svc: ComputeService, ctx: RequestContext, token: str) -> dict[str, Any]:
    """GET /os-console-auth-tokens/{token} (admin): where a valid token leads."""
    access.require_admin(ctx, "os_compute_api:os-console-auth-tokens")
    grant = read_token(svc, token)
    if grant is not None:
        async with svc.db.session() as s:
            try:
                instance = await access.load_instance(s, ctx, grant.instance_uuid)
            except errors.NotFound:
                grant = None
            else:
                if instance.host != grant.host:
                    grant = None
    if grant is None:
        raise errors.NotFound("Token not found")
    return {
        "console": {
            "instance_uuid": grant.instance_uuid,
            "host": grant.host,
            # The proxy reaches a serial console through its terminal, not a TCP port.
            "port": None,
            "internal_access_path": None,
        }
    }


async def live_grant(svc: ComputeService, token: str) -> ConsoleGrant | None:
    """The grant of a token whose instance is still live and running on the granted host."""
    grant = read_token(svc, token)
    if grant is None:
        return None
    async with svc.db.session() as s:
        instance = await s.scalar(access.live_instance_query(grant.instance_uuid))
    if instance is None or instance.host != grant.host or instance.vm_state != states.ACTIVE:
        return None
    return grant
