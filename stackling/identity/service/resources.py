"""Domains and projects (one table, as in Keystone), their hierarchy and tags."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.ids import new_id
from stackling.identity import models as m
from stackling.identity.revocation import Event
from stackling.identity.service import filters
from stackling.identity.service.core import Identity, fetch

DEFAULT_DOMAIN_ID = "default"
MAX_PROJECT_DEPTH = 8
_PROJECT_CORE = {
    "id",
    "name",
    "domain_id",
    "parent_id",
    "is_domain",
    "enabled",
    "description",
    "options",
    "tags",
    "links",
}


async def fetch_project(s: AsyncSession, project_id: str) -> m.Project:
    """A project (not a domain) by id, or 404."""
    return await fetch(s, m.Project, project_id, "project")


async def fetch_domain(s: AsyncSession, domain_id: str) -> m.Project:
    """A domain by id, or 404."""
    row = await s.get(m.Project, domain_id)
    if row is None or not row.is_domain:
        raise errors.NotFound(f"Could not find domain: {domain_id}.")
    return row


async def tags_of(s: AsyncSession, project_ids: list[str]) -> dict[str, list[str]]:
    """Tags of each project, by project id."""
    out: dict[str, list[str]] = {pid: [] for pid in project_ids}
    if not project_ids:
        return out
    rows = await s.execute(
        select(m.ProjectTag.project_id, m.ProjectTag.name)
        .where(m.ProjectTag.project_id.in_(project_ids))
        .order_by(m.ProjectTag.name)
    )
    for pid, name in rows:
        out[pid].append(name)
    return out


async def get_project(idn: Identity, project_id: str) -> tuple[m.Project, list[str]]:
    """A project (or domain acting as project) with its tags."""
    async with idn.db.session() as s:
        row = await s.get(m.Project, project_id)
        if row is None:
            raise errors.NotFound(f"Could not find project: {project_id}.")
        tags = await tags_of(s, [row.id])
    return row, tags[row.id]


async def get_domain(idn: Identity, domain_id: str) -> tuple[m.Project, list[str]]:
    """A domain with its tags."""
    async with idn.db.session() as s:
        row = await fetch_domain(s, domain_id)
        tags = await tags_of(s, [row.id])
    return row, tags[row.id]


def _tag_filter(stmt: Any, query: Mapping[str, str]) -> Any:
    for key in ("tags", "tags-any", "not-tags", "not-tags-any"):
        if key not in query:
            continue
        wanted = [t for t in query[key].split(",") if t]
        if not wanted:
            continue
        has = lambda tag: select(m.ProjectTag.project_id).where(m.ProjectTag.name == tag)  # noqa: E731
        if key == "tags":
            for tag in wanted:
                stmt = stmt.where(m.Project.id.in_(has(tag)))
        elif key == "tags-any":
            stmt = stmt.where(or_(*[m.Project.id.in_(has(t)) for t in wanted]))
        elif key == "not-tags":
            stmt = stmt.where(
                ~(m.Project.id.in_(has(wanted[0])) if len(wanted) == 1 else _all_tags(wanted))
            )
        else:
            stmt = stmt.where(~or_(*[m.Project.id.in_(has(t)) for t in wanted]))
    return stmt


def _all_tags(wanted: list[str]) -> Any:
    return and_(
        *[
            m.Project.id.in_(select(m.ProjectTag.project_id).where(m.ProjectTag.name == t))
            for t in wanted
        ]
    )


async def list_projects(
    idn: Identity, query: Mapping[str, str], *, only_ids: set[str] | None = None
) -> list[tuple[m.Project, list[str]]]:
    """Projects matching Keystone's filters (domains included only with is_domain=true)."""
    stmt = select(m.Project)
    is_domain = query.get("is_domain")
    if is_domain is None or not filters.is_true(is_domain):
        stmt = stmt.where(m.Project.is_domain.is_(False))
    else:
        stmt = stmt.where(m.Project.is_domain.is_(True))
    stmt = filters.apply(
        stmt,
        {k: v for k, v in query.items() if k != "is_domain"},
        {
            "name": m.Project.name,
            "enabled": m.Project.enabled,
            "domain_id": m.Project.domain_id,
            "parent_id": m.Project.parent_id,
            "id": m.Project.id,
        },
    )
    stmt = _tag_filter(stmt, query)
    if only_ids is not None:
        stmt = stmt.where(m.Project.id.in_(only_ids))
    async with idn.db.session() as s:
        rows = list((await s.scalars(stmt.order_by(m.Project.name))).all())
        tags = await tags_of(s, [r.id for r in rows])
    return [(r, tags[r.id]) for r in rows]


async def list_domains(
    idn: Identity, query: Mapping[str, str], *, only_ids: set[str] | None = None
) -> list[tuple[m.Project, list[str]]]:
    """Domains matching the name/enabled filters."""
    stmt = select(m.Project).where(m.Project.is_domain.is_(True))
    stmt = filters.apply(
        stmt, query, {"name": m.Project.name, "enabled": m.Project.enabled, "id": m.Project.id}
    )
    if only_ids is not None:
        stmt = stmt.where(m.Project.id.in_(only_ids))
    async with idn.db.session() as s:
        rows = list((await s.scalars(stmt.order_by(m.Project.name))).all())
        tags = await tags_of(s, [r.id for r in rows])
    return [(r, tags[r.id]) for r in rows]


def _check_tags(tags: list[str]) -> list[str]:
    if len(tags) > 80:
        raise errors.BadRequest("A project can have at most 80 tags.")
    for tag in tags:
        if not tag or len(tag) > 255 or "/" in tag or "," in tag:
            raise errors.BadRequest(f"Invalid project tag {tag!r}.")
    if len(set(tags)) != len(tags):
        # Keystone's schema says uniqueItems: a repeated tag is refused, not merged.
        raise errors.BadRequest("Project tags must be unique.")
    return list(tags)


async def _set_tags(s: AsyncSession, project_id: str, tags: list[str]) -> None:
    await s.execute(delete(m.ProjectTag).where(m.ProjectTag.project_id == project_id))
    for tag in tags:
        s.add(m.ProjectTag(project_id=project_id, name=tag))


async def create_project(
    idn: Identity, body: dict[str, Any], *, explicit_id: str | None = None
) -> tuple[m.Project, list[str]]:
    """Create a project (or a domain when is_domain is true) under its domain and parent.

    Ids are assigned here; only a domain may be given one (explicit_domain_id).
    """
    tags = _check_tags(body.get("tags") or [])
    is_domain = bool(body.get("is_domain", False))
    extra = {k: v for k, v in body.items() if k not in _PROJECT_CORE}
    name = body["name"]

    async def _do(s: AsyncSession) -> m.Project:
        parent_id = body.get("parent_id")
        domain_id = body.get("domain_id")
        if is_domain:
            if parent_id:
                raise errors.BadRequest("A domain cannot have a parent.")
            domain_id = m.ROOT_DOMAIN
        else:
            if parent_id:
                parent = await s.get(m.Project, parent_id)
                if parent is None:
                    raise errors.NotFound(f"Could not find project: {parent_id}.")
                parent_domain = parent.id if parent.is_domain else parent.domain_id
                if domain_id and domain_id != parent_domain:
                    raise errors.BadRequest(
                        "Cannot create project, the parent is in a different domain."
                    )
                domain_id = parent_domain
                if not parent.is_domain:
                    depth = await _depth(s, parent)
                    if depth + 1 >= MAX_PROJECT_DEPTH:
                        raise errors.Forbidden("Max hierarchy depth reached.")
            domain_id = domain_id or DEFAULT_DOMAIN_ID
            domain = await s.get(m.Project, domain_id)
            if domain is None or not domain.is_domain:
                raise errors.NotFound(f"Could not find domain: {domain_id}.")
            parent_id = parent_id or domain_id
        row = m.Project(
            id=explicit_id or new_id(),
            name=name,
            domain_id=domain_id,
            parent_id=None if is_domain else parent_id,
            is_domain=is_domain,
            enabled=body.get("enabled", True),
            description=body.get("description") or "",
            options=body.get("options") or {},
            extra=extra,
        )
        s.add(row)
        await s.flush()
        await _set_tags(s, row.id, tags)
        return row

    kind = "domain" if is_domain else "project"
    row = await idn.tx(
        _do,
        conflict=f"Conflict occurred attempting to store {kind} - Duplicate "
        f"entry found with name {name}.",
    )
    return row, tags


async def _depth(s: AsyncSession, project: m.Project) -> int:
    depth = 1
    current = project
    while current.parent_id and depth <= MAX_PROJECT_DEPTH:
        parent = await s.get(m.Project, current.parent_id)
        if parent is None or parent.is_domain:
            break
        depth += 1
        current = parent
    return depth


async def ancestors(s: AsyncSession, project: m.Project) -> list[m.Project]:
    """The project's parents up to (not including) its domain, nearest first."""
    out = []
    current = project
    while current.parent_id:
        parent = await s.get(m.Project, current.parent_id)
        if parent is None or parent.is_domain:
            break
        out.append(parent)
        current = parent
    return out


async def hierarchy(idn: Identity, project_id: str) -> tuple[list[m.Project], list[m.Project]]:
    """A project's ancestors (nearest first, its domain last) and its whole subtree."""
    async with idn.db.session() as s:
        project = await fetch_project(s, project_id)
        parents = await ancestors(s, project)
        domain = await s.get(m.Project, project.domain_id)
        if domain is not None and not project.is_domain:
            parents.append(domain)
        return parents, await descendants(s, project_id)


async def descendants(s: AsyncSession, project_id: str) -> list[m.Project]:
    """Every project below `project_id`, breadth first."""
    out: list[m.Project] = []
    frontier = [project_id]
    while frontier:
        children = (
            await s.scalars(
                select(m.Project).where(
                    m.Project.parent_id.in_(frontier), m.Project.is_domain.is_(False)
                )
            )
        ).all()
        out.extend(children)
        frontier = [c.id for c in children]
    return out


async def update_project(
    idn: Identity, project_id: str, body: dict[str, Any], *, as_domain: bool = False
) -> tuple[m.Project, list[str]]:
    """Change name, description, enabled, options, tags, extra; ids and hierarchy are fixed."""
    kind = "domain" if as_domain else "project"

    async def _do(s: AsyncSession) -> tuple[m.Project, list[str], list[Event]]:
        row = await (fetch_domain(s, project_id) if as_domain else s.get(m.Project, project_id))
        if row is None:
            raise errors.NotFound(f"Could not find project: {project_id}.")
        for immutable in ("domain_id", "parent_id", "is_domain", "id"):
            if immutable in body and body[immutable] != getattr(row, immutable):
                if immutable == "domain_id" and row.is_domain and body[immutable] is None:
                    continue
                raise errors.BadRequest(f"Update of `{immutable}` is not allowed.")
        events: list[Event] = []
        if "name" in body:
            row.name = body["name"]
        if "description" in body:
            row.description = body["description"] or ""
        if "enabled" in body:
            if row.enabled and not body["enabled"]:
                key_kind = "domain" if row.is_domain else "project"
                events.append(Event(key_kind, row.id, time.time()))
            row.enabled = body["enabled"]
        if "options" in body:
            row.options = {**row.options, **(body["options"] or {})}
        extra = {k: v for k, v in body.items() if k not in _PROJECT_CORE}
        if extra:
            row.extra = {**row.extra, **extra}
        if "tags" in body:
            await _set_tags(s, row.id, _check_tags(body["tags"] or []))
        idn.record_revocations(s, events)
        tags = await tags_of(s, [row.id])
        return row, tags[row.id], events

    row, tags, events = await idn.tx(
        _do, conflict=f"Conflict occurred attempting to store {kind} - Duplicate entry found."
    )
    idn.apply_revocations(events)
    return row, tags


async def delete_project(idn: Identity, project_id: str) -> None:
    """Delete a leaf project with its assignments and tags; its tokens stop working."""

    async def _do(s: AsyncSession) -> list[Event]:
        row = await s.get(m.Project, project_id)
        if row is None or row.is_domain:
            raise errors.NotFound(f"Could not find project: {project_id}.")
        has_children = await s.scalar(
            select(m.Project.id).where(m.Project.parent_id == project_id).limit(1)
        )
        if has_children:
            raise errors.Forbidden(
                f"Cannot delete the project {project_id} since it is not a leaf in the hierarchy."
            )
        await _purge_project(s, row)
        return idn.record_revocations(s, [Event("project", project_id, time.time())])

    idn.apply_revocations(await idn.tx(_do))


async def _purge_project(s: AsyncSession, row: m.Project) -> None:
    """Delete a project and everything that only means something with it."""
    await s.execute(delete(m.Assignment).where(m.Assignment.target_id == row.id))
    await s.execute(delete(m.ProjectEndpoint).where(m.ProjectEndpoint.project_id == row.id))
    await s.execute(delete(m.Credential).where(m.Credential.project_id == row.id))
    await s.execute(
        delete(m.ApplicationCredential).where(m.ApplicationCredential.project_id == row.id)
    )
    await s.execute(delete(m.Trust).where(m.Trust.project_id == row.id))
    await s.execute(delete(m.Limit).where(m.Limit.project_id == row.id))
    await s.delete(row)


async def delete_domain(idn: Identity, domain_id: str) -> None:
    """Delete a disabled domain and everything in it: projects, users, groups, roles."""

    async def _do(s: AsyncSession) -> list[Event]:
        row = await fetch_domain(s, domain_id)
        if row.enabled:
            raise errors.Forbidden(
                f"Cannot delete a domain that is enabled, please disable it first: {domain_id}."
            )
        projects = (
            await s.scalars(select(m.Project).where(m.Project.domain_id == domain_id))
        ).all()
        # Children before parents.
        for project in sorted(projects, key=lambda p: p.parent_id == domain_id):
            await _purge_project(s, project)
        user_ids = (await s.scalars(select(m.User.id).where(m.User.domain_id == domain_id))).all()
        group_ids = (
            await s.scalars(select(m.Group.id).where(m.Group.domain_id == domain_id))
        ).all()
        actors = [*user_ids, *group_ids]
        if actors:
            await s.execute(delete(m.Assignment).where(m.Assignment.actor_id.in_(actors)))
        await s.execute(delete(m.User).where(m.User.domain_id == domain_id))
        await s.execute(delete(m.Group).where(m.Group.domain_id == domain_id))
        await s.execute(delete(m.Role).where(m.Role.domain_id == domain_id))
        await s.execute(delete(m.DomainConfig).where(m.DomainConfig.domain_id == domain_id))
        await s.execute(delete(m.Assignment).where(m.Assignment.target_id == domain_id))
        await s.delete(row)
        return idn.record_revocations(s, [Event("domain", domain_id, time.time())])

    idn.apply_revocations(await idn.tx(_do))


# -- tags -------------------------------------------------------------------


async def project_tags(idn: Identity, project_id: str) -> list[str]:
    """Tags of a project."""
    return (await get_project(idn, project_id))[1]


async def replace_tags(idn: Identity, project_id: str, tags: list[str]) -> list[str]:
    """Replace every tag of a project."""
    clean = _check_tags(tags)

    async def _do(s: AsyncSession) -> None:
        await fetch_project(s, project_id)
        await _set_tags(s, project_id, clean)

    await idn.tx(_do)
    return clean


async def add_tag(idn: Identity, project_id: str, tag: str) -> None:
    """Add one tag (idempotent)."""
    _check_tags([tag])

    async def _do(s: AsyncSession) -> None:
        await fetch_project(s, project_id)
        if await s.get(m.ProjectTag, (project_id, tag)) is None:
            count = len((await tags_of(s, [project_id]))[project_id])
            if count >= 80:
                raise errors.BadRequest("A project can have at most 80 tags.")
            s.add(m.ProjectTag(project_id=project_id, name=tag))

    await idn.tx(_do)


async def remove_tag(idn: Identity, project_id: str, tag: str | None) -> None:
    """Remove one tag (404 when absent) or, with tag None, all of them."""

    async def _do(s: AsyncSession) -> None:
        await fetch_project(s, project_id)
        if tag is None:
            await _set_tags(s, project_id, [])
            return
        row = await s.get(m.ProjectTag, (project_id, tag))
        if row is None:
            raise errors.NotFound(f"Tag {tag} not found on project {project_id}.")
        await s.delete(row)

    await idn.tx(_do)
