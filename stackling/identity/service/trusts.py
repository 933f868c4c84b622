"""Trusts (OS-TRUST): a trustor delegates roles on a project to a trustee.

A trust made with a trust-scoped token is a redelegation: it may only narrow
what its parent trust allows (roles, expiry, impersonation), and the chain
of trusts behind it must still hold for its tokens to be issued.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.ids import new_id
from stackling.common.timeutil import utcnow
from stackling.identity import models as m
from stackling.identity.revocation import Event
from stackling.identity.service.app_creds import parse_expires_at, resolve_role
from stackling.identity.service.assignments import Target, effective_role_ids
from stackling.identity.service.core import Identity
from stackling.identity.service.resources import fetch_project
from stackling.identity.service.users import fetch_user
from stackling.identity.tokens import TokenData

# Keystone's [trust] max_redelegation_count default.
MAX_REDELEGATION_COUNT = 3
_CORE = {
    "id",
    "links",
    "trustor_user_id",
    "trustee_user_id",
    "impersonation",
    "project_id",
    "roles",
    "expires_at",
    "remaining_uses",
    "allow_redelegation",
    "redelegation_count",
    "redelegated_trust_id",
}


@dataclass(slots=True)
class TrustInfo:
    """A trust with the roles it delegates."""

    row: m.Trust
    roles: list[m.Role] = field(default_factory=list)


def _unusable(row: m.Trust) -> bool:
    if row.deleted_at is not None:
        return True
    if row.expires_at is not None and row.expires_at <= utcnow():
        return True
    return row.remaining_uses is not None and row.remaining_uses <= 0


async def fetch_trust(s: AsyncSession, trust_id: str) -> m.Trust:
    """A trust that can still be used: 404 when deleted, expired or used up, as Keystone."""
    row = await s.get(m.Trust, trust_id)
    if row is None or _unusable(row):
        raise errors.NotFound(f"Could not find trust: {trust_id}.")
    return row


async def role_ids_of(s: AsyncSession, trust_id: str) -> set[str]:
    """Ids of the roles a trust delegates."""
    return set(
        (await s.scalars(select(m.TrustRole.role_id).where(m.TrustRole.trust_id == trust_id))).all()
    )


async def _roles(s: AsyncSession, trust_id: str) -> list[m.Role]:
    return list(
        (
            await s.scalars(
                select(m.Role)
                .join(m.TrustRole, m.TrustRole.role_id == m.Role.id)
                .where(m.TrustRole.trust_id == trust_id)
                .order_by(m.Role.name)
            )
        ).all()
    )


def _check_narrower(
    parent: m.Trust, parent_roles: set[str], child: m.Trust, child_roles: set[str]
) -> None:
    """A redelegated trust may only narrow its parent; Forbidden otherwise."""
    depth = parent.redelegation_count or 0
    if not 0 < depth <= MAX_REDELEGATION_COUNT:
        raise errors.Forbidden(
            f"Remaining redelegation depth of {depth} out of allowed range of "
            f"[0..{MAX_REDELEGATION_COUNT}]."
        )
    if child.remaining_uses is not None:
        raise errors.Forbidden("remaining_uses must not be set in order to redelegate a trust.")
    if parent.expires_at is not None and (
        child.expires_at is None or child.expires_at > parent.expires_at
    ):
        raise errors.Forbidden(
            "Requested expiration time is more than redelegated trust can provide."
        )
    if not child_roles <= parent_roles:
        raise errors.Forbidden("Some of requested roles are not in redelegated trust.")
    if child.impersonation and not parent.impersonation:
        raise errors.Forbidden(
            f"Impersonation is not allowed because redelegated trust {parent.id} does not "
            "specify impersonation."
        )


async def redelegation_chain(s: AsyncSession, trust: m.Trust) -> list[m.Trust]:
    """[trust, its parent, ..., the original trust]; Forbidden if any link no longer holds."""
    chain = [trust]
    seen = {trust.id}
    child, child_roles = trust, await role_ids_of(s, trust.id)
    while child.redelegated_trust_id:
        parent = await s.get(m.Trust, child.redelegated_trust_id)
        if parent is None or _unusable(parent) or parent.id in seen:
            raise errors.Forbidden(f"Redelegated trust {child.redelegated_trust_id} is gone.")
        parent_roles = await role_ids_of(s, parent.id)
        _check_narrower(parent, parent_roles, child, child_roles)
        agent = await s.get(m.User, parent.trustee_user_id)
        if agent is None or not agent.enabled:
            raise errors.Forbidden("One of the trust agents is disabled or deleted.")
        chain.append(parent)
        seen.add(parent.id)
        child, child_roles = parent, parent_roles
    return chain


def _ensure_unrestricted(token: TokenData | None) -> None:
    if token is not None and token.app_cred is not None and token.app_cred.get("restricted", True):
        raise errors.Forbidden(
            "Using method 'application_credential' is not allowed for managing trusts."
        )


async def create_trust(idn: Identity, body: dict[str, Any], token: TokenData) -> TrustInfo:
    """Create a trust from the caller (the trustor) to a trustee."""
    _ensure_unrestricted(token)
    project_id = body.get("project_id")
    role_refs = body.get("roles") or []
    if project_id and not role_refs:
        raise errors.Forbidden("At least one role should be specified.")
    if role_refs and not project_id:
        raise errors.BadRequest("Roles can only be delegated on a project.")
    if token.user.id != body["trustor_user_id"]:
        raise errors.Forbidden("The authenticated user should match the trustor.")
    expires_at = parse_expires_at(body.get("expires_at"))
    remaining_uses = body.get("remaining_uses")
    requested = body.get("redelegation_count")
    redelegatable = bool(body.get("allow_redelegation")) and requested != 0
    if redelegatable:
        if requested is not None and requested > MAX_REDELEGATION_COUNT:
            raise errors.Forbidden(
                f"Requested redelegation depth of {requested} is greater than allowed "
                f"{MAX_REDELEGATION_COUNT}."
            )
        if remaining_uses is not None:
            raise errors.BadRequest("remaining_uses must not be set if redelegation is allowed.")
    parent_id = token.trust["id"] if token.trust is not None else None

    async def _do(s: AsyncSession) -> TrustInfo:
        await fetch_user(s, body["trustee_user_id"])
        roles: dict[str, m.Role] = {}
        for ref in role_refs:
            role = await resolve_role(s, ref)
            roles[role.id] = role
        row = m.Trust(
            id=new_id(),
            trustor_user_id=body["trustor_user_id"],
            trustee_user_id=body["trustee_user_id"],
            project_id=project_id,
            impersonation=body["impersonation"],
            expires_at=expires_at,
            remaining_uses=remaining_uses,
            redelegated_trust_id=parent_id,
            redelegation_count=(requested or MAX_REDELEGATION_COUNT) if redelegatable else 0,
            extra={k: v for k, v in body.items() if k not in _CORE},
        )
        original_trustor = row.trustor_user_id
        if parent_id is not None:
            parent = await fetch_trust(s, parent_id)
            if parent.expires_at is not None and row.expires_at is None:
                row.expires_at = parent.expires_at
            remaining = (parent.redelegation_count or 0) - 1
            if redelegatable and requested and requested != remaining:
                raise errors.Forbidden(
                    'Modifying "redelegation_count" upon redelegation is forbidden. '
                    "Omitting this parameter is advised."
                )
            if redelegatable and requested is None:
                row.redelegation_count = remaining
            # The new trust must narrow every trust above it.
            chain = await redelegation_chain(s, parent)
            for ancestor in chain:
                _check_narrower(ancestor, await role_ids_of(s, ancestor.id), row, set(roles))
            original_trustor = chain[-1].trustor_user_id
        if project_id:
            await fetch_project(s, project_id)
            held = await effective_role_ids(s, original_trustor, Target("project", project_id))
            for role_id in roles:
                if role_id not in held:
                    raise errors.NotFound(
                        f"Could not find role: {role_id} (the trustor does not hold it on "
                        f"project {project_id})."
                    )
        duplicate = await s.scalar(
            select(m.Trust.id).where(
                m.Trust.trustor_user_id == row.trustor_user_id,
                m.Trust.trustee_user_id == row.trustee_user_id,
                m.Trust.project_id.is_(None)
                if project_id is None
                else m.Trust.project_id == project_id,
                m.Trust.impersonation.is_(row.impersonation),
                m.Trust.expires_at.is_(None)
                if row.expires_at is None
                else m.Trust.expires_at == row.expires_at,
                m.Trust.deleted_at.is_(None),
            )
        )
        if duplicate is not None:
            raise errors.Conflict(
                f"Conflict occurred attempting to store trust - trust {duplicate} has the same "
                "trustor, trustee, project, impersonation and expiry."
            )
        s.add(row)
        await s.flush()
        for role_id in roles:
            s.add(m.TrustRole(trust_id=row.id, role_id=role_id))
        await s.flush()
        return TrustInfo(row, sorted(roles.values(), key=lambda r: r.name))

    return await idn.tx(_do)


async def list_trusts(idn: Identity, query: Mapping[str, str]) -> list[m.Trust]:
    """Trusts not deleted, by trustor or trustee (all of them without a filter)."""
    stmt = select(m.Trust).where(m.Trust.deleted_at.is_(None))
    if query.get("trustor_user_id"):
        stmt = stmt.where(m.Trust.trustor_user_id == query["trustor_user_id"])
    if query.get("trustee_user_id"):
        stmt = stmt.where(m.Trust.trustee_user_id == query["trustee_user_id"])
    async with idn.db.session() as s:
        return list((await s.scalars(stmt.order_by(m.Trust.id))).all())


async def get_trust(idn: Identity, trust_id: str) -> TrustInfo:
    """A usable trust with its roles."""
    async with idn.db.session() as s:
        row = await fetch_trust(s, trust_id)
        return TrustInfo(row, await _roles(s, trust_id))


async def get_undeleted_trust(idn: Identity, trust_id: str) -> m.Trust:
    """A trust not deleted, even expired or used up (such a trust can still be deleted)."""
    async with idn.db.session() as s:
        row = await s.get(m.Trust, trust_id)
    if row is None or row.deleted_at is not None:
        raise errors.NotFound(f"Could not find trust: {trust_id}.")
    return row


async def trust_role(idn: Identity, trust_id: str, role_id: str) -> tuple[m.Trust, m.Role]:
    """A role the trust delegates; 404 when it does not."""
    info = await get_trust(idn, trust_id)
    for role in info.roles:
        if role.id == role_id:
            return info.row, role
    raise errors.NotFound(f"Could not find role: {role_id} in trust {trust_id}.")


async def delete_trust(idn: Identity, trust_id: str, token: TokenData | None) -> None:
    """Soft-delete a trust and the trusts redelegated from it; their tokens stop working."""
    _ensure_unrestricted(token)

    async def _do(s: AsyncSession) -> list[Event]:
        row = await s.get(m.Trust, trust_id)
        if row is None or row.deleted_at is not None:
            raise errors.NotFound(f"Could not find trust: {trust_id}.")
        now, stamp = utcnow(), time.time()
        events = []
        pending = [row]
        while pending:
            current = pending.pop()
            current.deleted_at = now
            events.append(Event("trust", current.id, stamp))
            pending.extend(
                (
                    await s.scalars(
                        select(m.Trust).where(
                            m.Trust.redelegated_trust_id == current.id,
                            m.Trust.deleted_at.is_(None),
                        )
                    )
                ).all()
            )
        return idn.record_revocations(s, events)

    idn.apply_revocations(await idn.tx(_do))
