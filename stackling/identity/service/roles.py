"""Roles and role inference (implied roles)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.ids import new_id
from stackling.db.upsert import insert_ignore
from stackling.identity import models as m
from stackling.identity.revocation import Event
from stackling.identity.service import filters
from stackling.identity.service.core import Identity, fetch
from stackling.identity.service.resources import fetch_domain

_ROLE_CORE = {"id", "name", "domain_id", "description", "options", "links"}


async def fetch_role(s: AsyncSession, role_id: str) -> m.Role:
    """A role by id, or 404."""
    return await fetch(s, m.Role, role_id, "role")


async def get_role(idn: Identity, role_id: str) -> m.Role:
    """One role."""
    async with idn.db.session() as s:
        return await fetch_role(s, role_id)


async def list_roles(idn: Identity, query: Mapping[str, str]) -> list[m.Role]:
    """Global roles, or the roles of one domain when domain_id is given."""
    q = dict(query)
    domain_id = q.pop("domain_id", None) or m.NULL_DOMAIN
    stmt = select(m.Role).where(m.Role.domain_id == domain_id)
    stmt = filters.apply(stmt, q, {"name": m.Role.name, "id": m.Role.id})
    async with idn.db.session() as s:
        return list((await s.scalars(stmt.order_by(m.Role.name))).all())


async def create_role(idn: Identity, body: dict[str, Any]) -> m.Role:
    """Create a global or domain-specific role."""
    extra = {k: v for k, v in body.items() if k not in _ROLE_CORE}

    async def _do(s: AsyncSession) -> m.Role:
        domain_id = body.get("domain_id")
        if domain_id:
            await fetch_domain(s, domain_id)
        row = m.Role(
            id=new_id(),
            name=body["name"],
            domain_id=domain_id or m.NULL_DOMAIN,
            description=body.get("description"),
            options=body.get("options") or {},
            extra=extra,
        )
        s.add(row)
        await s.flush()
        return row

    return await idn.tx(
        _do,
        conflict=f"Conflict occurred attempting to store role - Duplicate entry found with "
        f"name {body['name']}.",
    )


async def update_role(idn: Identity, role_id: str, body: dict[str, Any]) -> m.Role:
    """Rename or describe a role; its domain is fixed."""

    async def _do(s: AsyncSession) -> m.Role:
        row = await fetch_role(s, role_id)
        current_domain = None if row.domain_id == m.NULL_DOMAIN else row.domain_id
        if "domain_id" in body and body["domain_id"] != current_domain:
            raise errors.BadRequest("Update of `domain_id` is not allowed.")
        if (row.options or {}).get("immutable") and set(body) - {"options"}:
            raise errors.Forbidden(f"Role {role_id} is immutable.")
        if "name" in body:
            row.name = body["name"]
        if "description" in body:
            row.description = body["description"]
        if "options" in body:
            row.options = {**row.options, **(body["options"] or {})}
        extra = {k: v for k, v in body.items() if k not in _ROLE_CORE}
        if extra:
            row.extra = {**row.extra, **extra}
        return row

    return await idn.tx(
        _do, conflict="Conflict occurred attempting to store role - Duplicate entry found."
    )


async def delete_role(idn: Identity, role_id: str) -> None:
    """Delete a role, its grants and inference rules; tokens carrying it stop working."""

    async def _do(s: AsyncSession) -> list[Event]:
        row = await fetch_role(s, role_id)
        if (row.options or {}).get("immutable"):
            raise errors.Forbidden(f"Role {role_id} is immutable.")
        await s.execute(delete(m.Assignment).where(m.Assignment.role_id == role_id))
        await s.execute(
            delete(m.ImpliedRole).where(
                (m.ImpliedRole.prior_role_id == role_id)
                | (m.ImpliedRole.implied_role_id == role_id)
            )
        )
        await s.delete(row)
        return idn.record_revocations(s, [Event("role", role_id, time.time())])

    idn.apply_revocations(await idn.tx(_do))


# -- inference --------------------------------------------------------------


async def inference_map(s: AsyncSession) -> dict[str, set[str]]:
    """prior role id -> directly implied role ids."""
    out: dict[str, set[str]] = {}
    for prior, implied in await s.execute(
        select(m.ImpliedRole.prior_role_id, m.ImpliedRole.implied_role_id)
    ):
        out.setdefault(prior, set()).add(implied)
    return out


def expand_implied(role_ids: Iterable[str], rules: Mapping[str, set[str]]) -> set[str]:
    """Role ids plus every role they imply, transitively."""
    seen: set[str] = set()
    stack = list(role_ids)
    while stack:
        rid = stack.pop()
        if rid in seen:
            continue
        seen.add(rid)
        stack.extend(rules.get(rid, ()))
    return seen


async def create_inference(idn: Identity, prior_id: str, implied_id: str) -> tuple[m.Role, m.Role]:
    """prior now implies implied; loops and global-implies-domain-role are refused."""

    async def _do(s: AsyncSession) -> tuple[m.Role, m.Role]:
        prior = await fetch_role(s, prior_id)
        implied = await fetch_role(s, implied_id)
        if implied.domain_id != m.NULL_DOMAIN and prior.domain_id == m.NULL_DOMAIN:
            raise errors.Forbidden(
                f"{implied_id} is a domain-specific role and cannot be implied by a global role."
            )
        if prior_id == implied_id or prior_id in expand_implied(
            [implied_id], await inference_map(s)
        ):
            raise errors.Forbidden(f"Implied role {implied_id} would create a loop.")
        await insert_ignore(s, m.ImpliedRole, prior_role_id=prior_id, implied_role_id=implied_id)
        return prior, implied

    return await idn.tx(_do)


async def get_inference(idn: Identity, prior_id: str, implied_id: str) -> tuple[m.Role, m.Role]:
    """The rule, or 404."""
    async with idn.db.session() as s:
        prior = await fetch_role(s, prior_id)
        implied = await fetch_role(s, implied_id)
        if await s.get(m.ImpliedRole, (prior_id, implied_id)) is None:
            raise errors.NotFound(f"{prior_id} does not imply {implied_id}.")
    return prior, implied


async def delete_inference(idn: Identity, prior_id: str, implied_id: str) -> None:
    """Remove a rule."""

    async def _do(s: AsyncSession) -> None:
        await fetch_role(s, prior_id)
        await fetch_role(s, implied_id)
        row = await s.get(m.ImpliedRole, (prior_id, implied_id))
        if row is None:
            raise errors.NotFound(f"{prior_id} does not imply {implied_id}.")
        await s.delete(row)

    await idn.tx(_do)


async def implied_by(idn: Identity, prior_id: str) -> tuple[m.Role, list[m.Role]]:
    """A role and the roles it implies directly."""
    async with idn.db.session() as s:
        prior = await fetch_role(s, prior_id)
        implied = (
            await s.scalars(
                select(m.Role)
                .join(m.ImpliedRole, m.ImpliedRole.implied_role_id == m.Role.id)
                .where(m.ImpliedRole.prior_role_id == prior_id)
            )
        ).all()
    return prior, list(implied)


async def all_inferences(idn: Identity) -> list[tuple[m.Role, list[m.Role]]]:
    """Every prior role with what it implies directly."""
    async with idn.db.session() as s:
        rules = await inference_map(s)
        ids = set(rules) | {i for v in rules.values() for i in v}
        roles = {r.id: r for r in (await s.scalars(select(m.Role).where(m.Role.id.in_(ids)))).all()}
    return [
        (roles[p], [roles[i] for i in sorted(implied) if i in roles])
        for p, implied in sorted(rules.items())
        if p in roles
    ]
