"""Application credentials and their access rules; the delegation helpers trusts share."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.ids import new_id
from stackling.common.timeutil import parse_iso, utcnow
from stackling.identity import models as m
from stackling.identity import passwords
from stackling.identity.revocation import Event
from stackling.identity.service import filters
from stackling.identity.service.assignments import Target, effective_role_ids
from stackling.identity.service.core import Identity
from stackling.identity.service.roles import expand_implied, inference_map
from stackling.identity.service.users import fetch_user
from stackling.identity.tokens import TokenData


@dataclass(slots=True)
class AppCred:
    """An application credential with its roles and access rules (and, once, its secret)."""

    row: m.ApplicationCredential
    roles: list[m.Role] = field(default_factory=list)
    rules: list[m.AccessRule] = field(default_factory=list)
    secret: str | None = None


# -- helpers shared with trusts --------------------------------------------------------


def parse_expires_at(value: str | None) -> dt.datetime | None:
    """An expiry time from the API (ISO 8601, UTC when naive); 400 when malformed or past."""
    if value is None:
        return None
    try:
        when = parse_iso(value)
    except ValueError as exc:
        raise errors.BadRequest(f"Invalid expires_at {value!r}: not an ISO 8601 time.") from exc
    if when <= utcnow():
        raise errors.BadRequest("expires_at is in the past.")
    return when


async def resolve_role(s: AsyncSession, ref: Mapping[str, Any]) -> m.Role:
    """A role from {"id"} or {"name", "domain_id"?}; 404 when it does not exist."""
    if ref.get("id"):
        row = await s.get(m.Role, ref["id"])
        if row is None:
            raise errors.NotFound(f"Could not find role: {ref['id']}.")
        return row
    name = ref.get("name")
    row = await s.scalar(
        select(m.Role).where(
            m.Role.name == name, m.Role.domain_id == (ref.get("domain_id") or m.NULL_DOMAIN)
        )
    )
    if row is None:
        raise errors.NotFound(f"Could not find role: {name}.")
    return row


def ensure_manageable(token: TokenData | None, *, changes: bool, what: str) -> None:
    """Refuse delegated tokens: trust tokens always, restricted app-cred tokens for changes.

    A credential made with a delegated token would outlive the delegation, so
    Keystone only lets the user themselves (or an unrestricted application
    credential) manage them.
    """
    if token is None:
        return
    if token.trust is not None:
        raise errors.Forbidden(f"Cannot manage {what} with a token issued via a trust.")
    if changes and token.app_cred is not None and token.app_cred.get("restricted", True):
        raise errors.Forbidden(
            f"Using method 'application_credential' is not allowed for managing {what}."
        )


# -- application credentials --------------------------------------------------------------


def _new_secret() -> str:
    # 64 random bytes, url-safe base64 without padding, as Keystone generates them.
    return secrets.token_urlsafe(64)


async def _load(s: AsyncSession, rows: list[m.ApplicationCredential]) -> list[AppCred]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    roles: dict[str, list[m.Role]] = {i: [] for i in ids}
    for cred_id, role in await s.execute(
        select(m.ApplicationCredentialRole.application_credential_id, m.Role)
        .join(m.Role, m.Role.id == m.ApplicationCredentialRole.role_id)
        .where(m.ApplicationCredentialRole.application_credential_id.in_(ids))
        .order_by(m.Role.name)
    ):
        roles[cred_id].append(role)
    rules: dict[str, list[m.AccessRule]] = {i: [] for i in ids}
    for cred_id, rule in await s.execute(
        select(m.ApplicationCredentialAccessRule.application_credential_id, m.AccessRule)
        .join(m.AccessRule, m.AccessRule.id == m.ApplicationCredentialAccessRule.access_rule_id)
        .where(m.ApplicationCredentialAccessRule.application_credential_id.in_(ids))
    ):
        rules[cred_id].append(rule)
    return [AppCred(r, roles[r.id], rules[r.id]) for r in rows]


async def _access_rule_for(s: AsyncSession, user_id: str, ref: Mapping[str, Any]) -> m.AccessRule:
    """The user's rule with that id, else an identical one, else a new one."""
    if ref.get("id"):
        row = await s.get(m.AccessRule, ref["id"])
        if row is not None and row.user_id == user_id:
            return row
        if not ref.get("service"):
            raise errors.NotFound(f"Could not find access rule: {ref['id']}.")
    row = await s.scalar(
        select(m.AccessRule).where(
            m.AccessRule.user_id == user_id,
            m.AccessRule.service == ref["service"],
            m.AccessRule.path == ref["path"],
            m.AccessRule.method == ref["method"],
        )
    )
    if row is None:
        row = m.AccessRule(
            id=new_id(),
            user_id=user_id,
            service=ref["service"],
            path=ref["path"],
            method=ref["method"],
        )
        s.add(row)
        await s.flush()
    return row


async def create_app_cred(
    idn: Identity, user_id: str, token: TokenData, body: dict[str, Any]
) -> AppCred:
    """Create an application credential for the caller on the token's project.

    Its roles must be roles the user holds on the token's project (all of
    them by default); the roles they imply come along, as Keystone does. The
    secret is stored only as a bcrypt hash and returned this once.
    """
    ensure_manageable(token, changes=True, what="application credentials")
    if token.user.id != user_id:
        raise errors.Forbidden("Cannot create an application credential for another user.")
    if token.project is None:
        raise errors.BadRequest("Application credentials need a project-scoped token.")
    project_id = token.project.id
    expires_at = parse_expires_at(body.get("expires_at"))
    secret = body.get("secret") or _new_secret()
    hashed = await passwords.hash_password(secret, idn.settings.identity.password_hash_rounds)

    async def _do(s: AsyncSession) -> AppCred:
        await fetch_user(s, user_id)
        # What the token may hand on, reckoned now as Keystone does when it
        # validates a token: the user's current roles on the project, and for
        # an application credential token no more than that credential holds.
        allowed = await effective_role_ids(s, user_id, Target("project", project_id))
        if token.app_cred is not None:
            parent_roles = await s.scalars(
                select(m.ApplicationCredentialRole.role_id).where(
                    m.ApplicationCredentialRole.application_credential_id == token.app_cred["id"]
                )
            )
            allowed &= expand_implied(parent_roles.all(), await inference_map(s))
        if body.get("roles"):
            wanted = {(await resolve_role(s, ref)).id for ref in body["roles"]}
            wanted = expand_implied(wanted, await inference_map(s))
            if not wanted <= allowed:
                raise errors.BadRequest(
                    "Cannot create an application credential with a role not assigned to "
                    f"the user on project {project_id}."
                )
        else:
            wanted = allowed
        if not wanted:
            raise errors.BadRequest(f"User {user_id} holds no role on project {project_id}.")
        row = m.ApplicationCredential(
            id=new_id(),
            name=body["name"],
            secret_hash=hashed,
            description=body.get("description"),
            user_id=user_id,
            project_id=project_id,
            expires_at=expires_at,
            unrestricted=bool(body.get("unrestricted")),
            created_at=utcnow(),
        )
        s.add(row)
        await s.flush()
        for role_id in sorted(wanted):
            s.add(m.ApplicationCredentialRole(application_credential_id=row.id, role_id=role_id))
        linked: set[str] = set()
        for ref in body.get("access_rules") or []:
            rule = await _access_rule_for(s, user_id, ref)
            if rule.id not in linked:
                linked.add(rule.id)
                s.add(
                    m.ApplicationCredentialAccessRule(
                        application_credential_id=row.id, access_rule_id=rule.id
                    )
                )
        await s.flush()
        (out,) = await _load(s, [row])
        return out

    cred = await idn.tx(
        _do,
        conflict=f"Conflict occurred attempting to store application_credential - Duplicate "
        f"entry found with name {body['name']}.",
    )
    cred.secret = secret
    return cred


async def list_app_creds(idn: Identity, user_id: str, query: Mapping[str, str]) -> list[AppCred]:
    """A user's application credentials, optionally filtered by name."""
    stmt = filters.apply(
        select(m.ApplicationCredential).where(m.ApplicationCredential.user_id == user_id),
        query,
        {"name": m.ApplicationCredential.name},
    )
    async with idn.db.session() as s:
        await fetch_user(s, user_id)
        rows = list((await s.scalars(stmt.order_by(m.ApplicationCredential.name))).all())
        return await _load(s, rows)


async def _fetch_app_cred(s: AsyncSession, user_id: str, cred_id: str) -> m.ApplicationCredential:
    row = await s.get(m.ApplicationCredential, cred_id)
    if row is None or row.user_id != user_id:
        raise errors.NotFound(f"Could not find application credential: {cred_id}.")
    return row


async def get_app_cred(idn: Identity, user_id: str, cred_id: str) -> AppCred:
    """One of a user's application credentials."""
    async with idn.db.session() as s:
        (out,) = await _load(s, [await _fetch_app_cred(s, user_id, cred_id)])
        return out


async def delete_app_cred(
    idn: Identity, user_id: str, cred_id: str, token: TokenData | None
) -> None:
    """Delete an application credential; tokens issued with it stop validating."""
    ensure_manageable(token, changes=True, what="application credentials")

    async def _do(s: AsyncSession) -> list[Event]:
        row = await _fetch_app_cred(s, user_id, cred_id)
        await s.execute(
            delete(m.ApplicationCredentialRole).where(
                m.ApplicationCredentialRole.application_credential_id == cred_id
            )
        )
        await s.execute(
            delete(m.ApplicationCredentialAccessRule).where(
                m.ApplicationCredentialAccessRule.application_credential_id == cred_id
            )
        )
        await s.delete(row)
        return idn.record_revocations(s, [Event("app_cred", cred_id, time.time())])

    idn.apply_revocations(await idn.tx(_do))


# -- access rules ---------------------------------------------------------------------------


async def list_access_rules(
    idn: Identity, user_id: str, query: Mapping[str, str]
) -> list[m.AccessRule]:
    """A user's access rules, filtered by service, path and method."""
    stmt = filters.apply(
        select(m.AccessRule).where(m.AccessRule.user_id == user_id),
        query,
        {
            "service": m.AccessRule.service,
            "path": m.AccessRule.path,
            "method": m.AccessRule.method,
        },
    )
    async with idn.db.session() as s:
        await fetch_user(s, user_id)
        return list((await s.scalars(stmt.order_by(m.AccessRule.service, m.AccessRule.path))).all())


async def _fetch_rule(s: AsyncSession, user_id: str, rule_id: str) -> m.AccessRule:
    row = await s.get(m.AccessRule, rule_id)
    if row is None or row.user_id != user_id:
        raise errors.NotFound(f"Could not find access rule: {rule_id}.")
    return row


async def get_access_rule(idn: Identity, user_id: str, rule_id: str) -> m.AccessRule:
    """One of a user's access rules."""
    async with idn.db.session() as s:
        return await _fetch_rule(s, user_id, rule_id)


async def delete_access_rule(idn: Identity, user_id: str, rule_id: str) -> None:
    """Delete an access rule no application credential uses any more (403 while one does)."""

    async def _do(s: AsyncSession) -> None:
        row = await _fetch_rule(s, user_id, rule_id)
        user = await s.scalar(
            select(m.ApplicationCredentialAccessRule.application_credential_id)
            .where(m.ApplicationCredentialAccessRule.access_rule_id == rule_id)
            .limit(1)
        )
        if user is not None:
            raise errors.Forbidden(
                f"Access rule {rule_id} is still used by application credential {user}; "
                "delete the application credential first."
            )
        await s.delete(row)

    await idn.tx(_do)
