"""Stored credentials (/v3/credentials) and EC2 keys (OS-EC2), encrypted at rest.

Blobs are encrypted with Fernet keys of their own, kept apart from the token
keys in <data_dir>/identity/credential-keys: rotating token keys must never
make a stored secret unreadable.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.ids import new_id
from stackling.identity import models as m
from stackling.identity.keys import KeyRepository
from stackling.identity.service import filters
from stackling.identity.service.assignments import Target, effective_role_ids
from stackling.identity.service.core import Identity, fetch
from stackling.identity.service.resources import fetch_project
from stackling.identity.service.users import fetch_user
from stackling.identity.tokens import TokenData

EC2 = "ec2"
_CORE = {"id", "links", "blob", "type", "user_id", "project_id"}
# Keys of an ec2 blob that bind it to a delegation; they may never change.
_BOUND_KEYS = ("trust_id", "app_cred_id", "access_token_id", "access_id")

# One cipher per Identity, loaded on first use; the lock keeps two first uses
# from each creating a different key repository.
_CIPHERS: weakref.WeakKeyDictionary[Identity, MultiFernet] = weakref.WeakKeyDictionary()
_CIPHER_LOCK = threading.Lock()


@dataclass(slots=True)
class Cred:
    """A credential row with its decrypted blob."""

    row: m.Credential
    blob: str

    def ec2(self) -> dict[str, Any]:
        """The blob of an ec2 credential as a dict ({} when it is not JSON)."""
        try:
            data = json.loads(self.blob)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


def _load_cipher(idn: Identity) -> MultiFernet:
    with _CIPHER_LOCK:
        cipher = _CIPHERS.get(idn)
        if cipher is None:
            repo = KeyRepository(
                idn.settings.data_dir / "identity" / "credential-keys",
                idn.settings.identity.max_active_keys,
            )
            repo.ensure()
            cipher = repo.load()
            _CIPHERS[idn] = cipher
        return cipher


async def _cipher(idn: Identity) -> MultiFernet:
    cipher = _CIPHERS.get(idn)
    if cipher is None:
        cipher = await asyncio.to_thread(_load_cipher, idn)
    return cipher


def _decrypt(cipher: MultiFernet, row: m.Credential) -> Cred:
    try:
        return Cred(row, cipher.decrypt(row.encrypted_blob.encode()).decode())
    except InvalidToken as exc:
        # The key that encrypted it is gone: an operator problem, not the caller's.
        raise errors.StacklingError(
            f"Credential {row.id} cannot be decrypted with the current credential keys."
        ) from exc


def ec2_id(access: str) -> str:
    """The id of an ec2 credential: the sha256 hex of its access key, as Keystone makes it."""
    return hashlib.sha256(access.encode()).hexdigest()


def _ec2_blob(blob: str) -> dict[str, Any]:
    try:
        data = json.loads(blob)
    except ValueError as exc:
        raise errors.BadRequest("Invalid blob in credential: an ec2 blob must be JSON.") from exc
    if not isinstance(data, dict) or not data:
        raise errors.BadRequest("Invalid blob in credential: an ec2 blob must be a JSON object.")
    if not isinstance(data.get("access"), str) or not data["access"]:
        raise errors.BadRequest("Invalid blob in credential: 'access' is required.")
    if "secret" in data and not isinstance(data["secret"], str):
        raise errors.BadRequest("Invalid blob in credential: 'secret' must be a string.")
    return data


def check_delegated_scope(token: TokenData | None, project_id: str | None) -> None:
    """A trust or app-cred token may only touch credentials of the project it is scoped to."""
    if token is None or (token.trust is None and token.app_cred is None):
        return
    if project_id is None or token.project is None or token.project.id != project_id:
        raise errors.Forbidden(
            "Credential project does not match the project scope of the delegated token."
        )


async def _require_role(s: AsyncSession, user_id: str, project_id: str) -> None:
    if not await effective_role_ids(s, user_id, Target("project", project_id)):
        raise errors.Forbidden(f"User {user_id} has no role on project {project_id}.")


def _bind_to_delegation(data: dict[str, Any], token: TokenData | None) -> None:
    # An ec2 key made with a delegated token must authenticate as that delegation.
    if token is None:
        return
    if token.trust is not None:
        data["trust_id"] = token.trust["id"]
    if token.app_cred is not None:
        data["app_cred_id"] = token.app_cred["id"]


# -- /v3/credentials ------------------------------------------------------------------------


async def _fetch(s: AsyncSession, cred_id: str) -> m.Credential:
    return await fetch(s, m.Credential, cred_id, "credential")


async def get_credential(idn: Identity, cred_id: str) -> Cred:
    """One credential, decrypted."""
    cipher = await _cipher(idn)
    async with idn.db.session() as s:
        return _decrypt(cipher, await _fetch(s, cred_id))


async def list_credentials(
    idn: Identity, query: Mapping[str, str], *, only_user: str | None = None
) -> list[Cred]:
    """Credentials filtered by user_id and type; only `only_user`'s when given."""
    stmt = filters.apply(
        select(m.Credential),
        query,
        {"user_id": m.Credential.user_id, "type": m.Credential.type},
    )
    if only_user is not None:
        stmt = stmt.where(m.Credential.user_id == only_user)
    cipher = await _cipher(idn)
    async with idn.db.session() as s:
        rows = (await s.scalars(stmt.order_by(m.Credential.id))).all()
    return [_decrypt(cipher, r) for r in rows]


async def create_credential(
    idn: Identity,
    body: dict[str, Any],
    *,
    token: TokenData | None = None,
    require_role: bool = False,
) -> Cred:
    """Store a credential; an ec2 one is keyed by the hash of its access key.

    require_role: the owner must hold a role on the credential's project
    (asked for non-admin callers, so a member cannot mint keys for projects
    that are not theirs).
    """
    blob = body["blob"]
    project_id = body.get("project_id")
    cred_id = new_id()
    if body["type"] == EC2:
        if not project_id:
            raise errors.BadRequest("An ec2 credential requires a project_id.")
        data = _ec2_blob(blob)
        cred_id = ec2_id(data["access"])
        if token is not None and (token.trust is not None or token.app_cred is not None):
            _bind_to_delegation(data, token)
            blob = json.dumps(data)
    cipher = await _cipher(idn)
    encrypted = cipher.encrypt(blob.encode()).decode()

    async def _do(s: AsyncSession) -> m.Credential:
        await fetch_user(s, body["user_id"])
        if project_id:
            await fetch_project(s, project_id)
            if require_role:
                await _require_role(s, body["user_id"], project_id)
        row = m.Credential(
            id=cred_id,
            user_id=body["user_id"],
            project_id=project_id,
            type=body["type"],
            encrypted_blob=encrypted,
            extra={k: v for k, v in body.items() if k not in _CORE},
        )
        s.add(row)
        await s.flush()
        return row

    row = await idn.tx(
        _do, conflict=f"Conflict occurred attempting to store credential - Duplicate ID, {cred_id}."
    )
    return Cred(row, blob)


async def update_credential(idn: Identity, cred_id: str, body: dict[str, Any]) -> Cred:
    """Change blob, type, owner or project; the id (and an ec2 blob's binding) stays."""
    cipher = await _cipher(idn)

    async def _do(s: AsyncSession) -> Cred:
        row = await _fetch(s, cred_id)
        current = _decrypt(cipher, row)
        new_type = body.get("type", row.type)
        new_blob = body.get("blob", current.blob)
        new_project = body.get("project_id", row.project_id)
        if new_type == EC2:
            if not new_project:
                raise errors.BadRequest("An ec2 credential requires a project_id.")
            data = _ec2_blob(new_blob)
            if row.type == EC2:
                old = current.ec2()
                for key in _BOUND_KEYS:
                    if old.get(key) != data.get(key):
                        raise errors.BadRequest(f"{key} can not be updated for credential.")
        if "user_id" in body:
            await fetch_user(s, body["user_id"])
            row.user_id = body["user_id"]
        if body.get("project_id"):
            await fetch_project(s, body["project_id"])
        row.project_id = new_project
        row.type = new_type
        if "blob" in body:
            row.encrypted_blob = cipher.encrypt(new_blob.encode()).decode()
        extra = {k: v for k, v in body.items() if k not in _CORE}
        if extra:
            row.extra = {**row.extra, **extra}
        return Cred(row, new_blob)

    return await idn.tx(_do)


async def delete_credential(idn: Identity, cred_id: str) -> None:
    """Delete a credential."""

    async def _do(s: AsyncSession) -> None:
        await s.delete(await _fetch(s, cred_id))

    await idn.tx(_do)


# -- OS-EC2 ------------------------------------------------------------------------------------


async def ec2_create(
    idn: Identity,
    user_id: str,
    project_id: str,
    *,
    token: TokenData | None = None,
    require_role: bool = False,
) -> Cred:
    """Mint an EC2 access/secret pair for a user on a project."""
    data: dict[str, Any] = {
        "access": uuid.uuid4().hex,
        "secret": uuid.uuid4().hex,
        "trust_id": None,
    }
    _bind_to_delegation(data, token)
    body = {"user_id": user_id, "project_id": project_id, "type": EC2, "blob": json.dumps(data)}
    return await create_credential(idn, body, require_role=require_role)


async def ec2_list(idn: Identity, user_id: str) -> list[Cred]:
    """A user's EC2 credentials."""
    async with idn.db.session() as s:
        await fetch_user(s, user_id)
    return await list_credentials(idn, {"type": EC2}, only_user=user_id)


async def _ec2_row(s: AsyncSession, user_id: str, access: str) -> m.Credential:
    await fetch_user(s, user_id)
    row = await s.get(m.Credential, ec2_id(access))
    if row is None or row.type != EC2 or row.user_id != user_id:
        raise errors.NotFound(f"Could not find credential: {access}.")
    return row


async def ec2_get(idn: Identity, user_id: str, access: str) -> Cred:
    """One of a user's EC2 credentials, by access key."""
    cipher = await _cipher(idn)
    async with idn.db.session() as s:
        return _decrypt(cipher, await _ec2_row(s, user_id, access))


async def ec2_delete(idn: Identity, user_id: str, access: str) -> None:
    """Delete one of a user's EC2 credentials, by access key."""

    async def _do(s: AsyncSession) -> None:
        await s.delete(await _ec2_row(s, user_id, access))

    await idn.tx(_do)


async def ec2_lookup(idn: Identity, access: str) -> tuple[str, str, str]:
    """(user_id, project_id, secret) for an EC2 access key; Unauthorized when unknown.

    For the S3 API: it verifies the request signature with the secret, then
    acts for the user on the project.
    """
    cipher = await _cipher(idn)
    async with idn.db.session() as s:
        row = await s.get(m.Credential, ec2_id(access))
    if row is None or row.type != EC2 or not row.project_id:
        raise errors.Unauthorized("EC2 access key not found.")
    secret = _decrypt(cipher, row).ec2().get("secret")
    if not isinstance(secret, str):
        raise errors.Unauthorized("EC2 access key not found.")
    return row.user_id, row.project_id, secret
