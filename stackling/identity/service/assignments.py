"""Role assignments: grants on projects, domains and the system, and what they add up to."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.db.upsert import insert_ignore
from stackling.identity import models as m
from stackling.identity.revocation import Event
from stackling.identity.service import filters
from stackling.identity.service.core import Identity
from stackling.identity.service.resources import ancestors, descendants
from stackling.identity.service.roles import expand_implied, fetch_role, inference_map
from stackling.identity.service.users import fetch_group, fetch_user

SYSTEM = "all"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a grant applies: kind is project, domain or system."""

    kind: str
    id: str


def assignment_type(actor_kind: str, target: Target) -> str:
    """Keystone's assignment type name, e.g. UserProject."""
    return f"{actor_kind.capitalize()}{target.kind.capitalize()}"


async def _check_parties(
    s: AsyncSession, actor_kind: str, actor_id: str, target: Target, role_id: str
) -> m.Role:
    if actor_kind == "user":
        await fetch_user(s, actor_id)
    else:
        await fetch_group(s, actor_id)
    role = await fetch_role(s, role_id)
    if target.kind == "project":
        project = await s.get(m.Project, target.id)
        if project is None:
            raise errors.NotFound(f"Could not find project: {target.id}.")
        target_domain = project.domain_id if not project.is_domain else project.id
    elif target.kind == "domain":
        domain = await s.get(m.Project, target.id)
        if domain is None or not domain.is_domain:
            raise errors.NotFound(f"Could not find domain: {target.id}.")
        target_domain = domain.id
    else:
        target_domain = None
    if role.domain_id != m.NULL_DOMAIN and role.domain_id != target_domain:
        raise errors.Forbidden(
            f"Domain-specific role {role_id} can only be granted within domain {role.domain_id}."
        )
    return role


async def grant(
    idn: Identity,
    actor_kind: str,
    actor_id: str,
    target: Target,
    role_id: str,
    *,
    inherited: bool = False,
) -> None:
    """Grant a role (idempotent)."""

    async def _do(s: AsyncSession) -> None:
        await _check_parties(s, actor_kind, actor_id, target, role_id)
        await insert_ignore(
            s,
            m.Assignment,
            type=assignment_type(actor_kind, target),
            actor_id=actor_id,
            target_id=target.id,
            role_id=role_id,
            inherited=inherited,
        )

    await idn.tx(_do)


async def check(
    idn: Identity,
    actor_kind: str,
    actor_id: str,
    target: Target,
    role_id: str,
    *,
    inherited: bool = False,
) -> None:
    """404 unless the grant exists."""
    async with idn.db.session() as s:
        await _check_parties(s, actor_kind, actor_id, target, role_id)
        key = (assignment_type(actor_kind, target), actor_id, target.id, role_id, inherited)
        if await s.get(m.Assignment, key) is None:
            raise errors.NotFound(
                f"Could not find role assignment with role: {role_id}, {actor_kind}: {actor_id}, "
                f"{target.kind}: {target.id}."
            )


async def revoke(
    idn: Identity,
    actor_kind: str,
    actor_id: str,
    target: Target,
    role_id: str,
    *,
    inherited: bool = False,
) -> None:
    """Remove a grant; tokens that carried the role stop validating."""

    async def _do(s: AsyncSession) -> list[Event]:
        await _check_parties(s, actor_kind, actor_id, target, role_id)
        key = (assignment_type(actor_kind, target), actor_id, target.id, role_id, inherited)
        row = await s.get(m.Assignment, key)
        if row is None:
            raise errors.NotFound(
                f"Could not find role assignment with role: {role_id}, {actor_kind}: {actor_id}, "
                f"{target.kind}: {target.id}."
            )
        await s.delete(row)
        users = [actor_id] if actor_kind == "user" else await _members(s, actor_id)
        now = time.time()
        if inherited or target.kind == "system":
            events = [Event("user", uid, now) for uid in users]
        else:
            events = [Event("user_project", f"{uid}:{target.id}", now) for uid in users]
        return idn.record_revocations(s, events)

    idn.apply_revocations(await idn.tx(_do))


async def _members(s: AsyncSession, group_id: str) -> list[str]:
    return list(
        (
            await s.scalars(
                select(m.GroupMembership.user_id).where(m.GroupMembership.group_id == group_id)
            )
        ).all()
    )


async def list_grants(
    idn: Identity, actor_kind: str, actor_id: str, target: Target, *, inherited: bool = False
) -> list[m.Role]:
    """Roles granted directly to the actor on the target."""
    async with idn.db.session() as s:
        if actor_kind == "user":
            await fetch_user(s, actor_id)
        else:
            await fetch_group(s, actor_id)
        stmt = (
            select(m.Role)
            .join(m.Assignment, m.Assignment.role_id == m.Role.id)
            .where(
                m.Assignment.type == assignment_type(actor_kind, target),
                m.Assignment.actor_id == actor_id,
                m.Assignment.target_id == target.id,
                m.Assignment.inherited.is_(inherited),
            )
            .order_by(m.Role.name)
        )
        return list((await s.scalars(stmt)).all())


# -- effective roles ----------------------------------------------------------


async def group_ids_of(s: AsyncSession, user_id: str) -> list[str]:
    """Groups the user is in."""
    return list(
        (
            await s.scalars(
                select(m.GroupMembership.group_id).where(m.GroupMembership.user_id == user_id)
            )
        ).all()
    )


async def effective_role_ids(
    s: AsyncSession, user_id: str, target: Target, *, implied: bool = True
) -> set[str]:
    """Role ids the user holds on the target, through groups, inheritance and inference."""
    actors = [user_id, *await group_ids_of(s, user_id)]
    clauses: list[tuple[list[str], str, bool | None]] = []
    if target.kind == "project":
        project = await s.get(m.Project, target.id)
        if project is None:
            return set()
        clauses.append(([target.id], "Project", False))
        parents = [p.id for p in await ancestors(s, project)]
        if parents:
            clauses.append((parents, "Project", True))
        clauses.append(([project.domain_id], "Domain", True))
    elif target.kind == "domain":
        clauses.append(([target.id], "Domain", False))
    else:
        clauses.append(([SYSTEM], "System", None))
    found: set[str] = set()
    for target_ids, kind, inherited in clauses:
        stmt = select(m.Assignment.role_id).where(
            m.Assignment.actor_id.in_(actors),
            m.Assignment.target_id.in_(target_ids),
            m.Assignment.type.in_([f"User{kind}", f"Group{kind}"]),
        )
        if inherited is not None:
            stmt = stmt.where(m.Assignment.inherited.is_(inherited))
        found.update((await s.scalars(stmt)).all())
    if implied and found:
        found = await drop_domain_roles(s, expand_implied(found, await inference_map(s)))
    return found


async def drop_domain_roles(s: AsyncSession, role_ids: set[str]) -> set[str]:
    """Domain-specific roles only lend what they imply; they never appear in tokens themselves."""
    if not role_ids:
        return role_ids
    domain_specific = set(
        (
            await s.scalars(
                select(m.Role.id).where(m.Role.id.in_(role_ids), m.Role.domain_id != m.NULL_DOMAIN)
            )
        ).all()
    )
    return role_ids - domain_specific


async def effective_roles(idn: Identity, user_id: str, target: Target) -> list[m.Role]:
    """The roles a token for `target` would carry."""
    async with idn.db.session() as s:
        ids = await effective_role_ids(s, user_id, target)
        if not ids:
            return []
        return list((await s.scalars(select(m.Role).where(m.Role.id.in_(ids)))).all())


async def user_project_ids(s: AsyncSession, user_id: str) -> set[str]:
    """Projects on which the user holds any role (directly, via groups or by inheritance)."""
    actors = [user_id, *await group_ids_of(s, user_id)]
    rows = (
        await s.execute(
            select(m.Assignment.type, m.Assignment.target_id, m.Assignment.inherited).where(
                m.Assignment.actor_id.in_(actors)
            )
        )
    ).all()
    out: set[str] = set()
    for kind, target_id, inherited in rows:
        if kind.endswith("Project"):
            if not inherited:
                out.add(target_id)
            else:
                out.update(p.id for p in await descendants(s, target_id))
        elif kind.endswith("Domain") and inherited:
            out.update(
                (
                    await s.scalars(
                        select(m.Project.id).where(
                            m.Project.domain_id == target_id, m.Project.is_domain.is_(False)
                        )
                    )
                ).all()
            )
    return out


async def user_domain_ids(s: AsyncSession, user_id: str) -> set[str]:
    """Domains on which the user holds a role directly or via a group."""
    actors = [user_id, *await group_ids_of(s, user_id)]
    return set(
        (
            await s.scalars(
                select(m.Assignment.target_id).where(
                    m.Assignment.actor_id.in_(actors),
                    m.Assignment.type.in_(["UserDomain", "GroupDomain"]),
                    m.Assignment.inherited.is_(False),
                )
            )
        ).all()
    )


async def has_system_role(s: AsyncSession, user_id: str) -> bool:
    """Whether the user holds any role on the system."""
    return bool(await effective_role_ids(s, user_id, Target("system", SYSTEM), implied=False))


# -- /v3/role_assignments -------------------------------------------------------


@dataclass(slots=True)
class AssignmentEntry:
    """One row of a role assignment listing."""

    role_id: str
    actor_kind: str
    actor_id: str
    scope_kind: str
    scope_id: str
    inherited: bool = False
    via_group: str | None = None
    prior_role: str | None = None
    names: dict[str, Any] = field(default_factory=dict)


def _row_entry(row: m.Assignment) -> AssignmentEntry:
    actor_kind = "user" if row.type.startswith("User") else "group"
    scope_kind = row.type[len(actor_kind) :].lower()
    return AssignmentEntry(
        row.role_id, actor_kind, row.actor_id, scope_kind, row.target_id, row.inherited
    )


async def list_assignments(idn: Identity, query: Mapping[str, str]) -> list[AssignmentEntry]:
    """Keystone's role assignment listing, direct or effective."""
    effective = "effective" in query and (
        query["effective"] == "" or filters.is_true(query["effective"])
    )
    user_id = query.get("user.id")
    group_id = query.get("group.id")
    role_id = query.get("role.id")
    project_id = query.get("scope.project.id")
    domain_id = query.get("scope.domain.id")
    system = query.get("scope.system")
    inherited_to = query.get("scope.OS-INHERIT:inherited_to")
    include_subtree = filters.is_true(query.get("include_subtree", "false"))
    if effective and group_id:
        raise errors.BadRequest(
            "Combining effective and group filter will always result in an empty list."
        )
    if sum(x is not None for x in (project_id, domain_id, system)) > 1:
        raise errors.BadRequest("Specify at most one scope filter.")
    async with idn.db.session() as s:
        rows = (await s.scalars(select(m.Assignment))).all()
        entries = [_row_entry(r) for r in rows]
        if effective:
            entries = await _expand_effective(s, entries)
        subtree_ids: set[str] = set()
        if project_id and include_subtree:
            subtree_ids = {p.id for p in await descendants(s, project_id)}

        def keep(e: AssignmentEntry) -> bool:
            if user_id and not (e.actor_kind == "user" and e.actor_id == user_id):
                return False
            if group_id and not (e.actor_kind == "group" and e.actor_id == group_id):
                return False
            if role_id and e.role_id != role_id:
                return False
            if project_id and not (
                e.scope_kind == "project"
                and (e.scope_id == project_id or e.scope_id in subtree_ids)
            ):
                return False
            if domain_id and not (e.scope_kind == "domain" and e.scope_id == domain_id):
                return False
            if system is not None and e.scope_kind != "system":
                return False
            return not (inherited_to is not None and not e.inherited)

        kept = [e for e in entries if keep(e)]
        if filters.is_true(query.get("include_names", "false")) and "include_names" in query:
            await _add_names(s, kept)
    return kept


async def _expand_effective(
    s: AsyncSession, entries: list[AssignmentEntry]
) -> list[AssignmentEntry]:
    """Groups become their members, inherited grants land on projects, roles imply roles."""
    members: dict[str, list[str]] = {}
    for uid, gid in await s.execute(select(m.GroupMembership.user_id, m.GroupMembership.group_id)):
        members.setdefault(gid, []).append(uid)
    out: list[AssignmentEntry] = []
    for e in entries:
        users = (
            [(e.actor_id, None)]
            if e.actor_kind == "user"
            else [(u, e.actor_id) for u in members.get(e.actor_id, [])]
        )
        if e.inherited:
            if e.scope_kind == "domain":
                projects = (
                    await s.scalars(
                        select(m.Project.id).where(
                            m.Project.domain_id == e.scope_id, m.Project.is_domain.is_(False)
                        )
                    )
                ).all()
            else:
                projects = [p.id for p in await descendants(s, e.scope_id)]
            scopes = [("project", pid) for pid in projects]
        else:
            scopes = [(e.scope_kind, e.scope_id)]
        for uid, via in users:
            for kind, sid in scopes:
                out.append(AssignmentEntry(e.role_id, "user", uid, kind, sid, False, via))
    rules = await inference_map(s)
    implied: list[AssignmentEntry] = []
    for e in out:
        for rid in expand_implied([e.role_id], rules) - {e.role_id}:
            implied.append(
                AssignmentEntry(
                    rid,
                    e.actor_kind,
                    e.actor_id,
                    e.scope_kind,
                    e.scope_id,
                    False,
                    e.via_group,
                    prior_role=e.role_id,
                )
            )
    kept_roles = await drop_domain_roles(s, {e.role_id for e in out + implied})
    seen: set[tuple[str, str, str, str]] = set()
    result = []
    for e in out + implied:
        key = (e.role_id, e.actor_id, e.scope_kind, e.scope_id)
        if e.role_id in kept_roles and key not in seen:
            seen.add(key)
            result.append(e)
    return result


async def _add_names(s: AsyncSession, entries: list[AssignmentEntry]) -> None:
    async def _named(model: Any, ident: str) -> Any:
        return await s.get(model, ident)

    domains: dict[str, str] = {
        d.id: d.name
        for d in (await s.scalars(select(m.Project).where(m.Project.is_domain.is_(True)))).all()
    }
    for e in entries:
        role = await _named(m.Role, e.role_id)
        actor = await _named(m.User if e.actor_kind == "user" else m.Group, e.actor_id)
        e.names["role"] = {"name": role.name if role else None}
        if role is not None and role.domain_id != m.NULL_DOMAIN:
            e.names["role"]["domain"] = {"id": role.domain_id, "name": domains.get(role.domain_id)}
        if actor is not None:
            e.names["actor"] = {
                "name": actor.name,
                "domain": {"id": actor.domain_id, "name": domains.get(actor.domain_id)},
            }
        if e.scope_kind == "project":
            project = await _named(m.Project, e.scope_id)
            if project is not None:
                e.names["scope"] = {
                    "name": project.name,
                    "domain": {"id": project.domain_id, "name": domains.get(project.domain_id)},
                }
        elif e.scope_kind == "domain":
            e.names["scope"] = {"name": domains.get(e.scope_id)}
