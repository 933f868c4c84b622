"""Users, their passwords, groups and group membership."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.ids import new_id
from stackling.common.timeutil import utcnow
from stackling.db.upsert import insert_ignore
from stackling.identity import models as m
from stackling.identity import passwords
from stackling.identity.revocation import Event
from stackling.identity.service import filters
from stackling.identity.service.core import Identity, fetch
from stackling.identity.service.resources import DEFAULT_DOMAIN_ID, fetch_domain

_USER_CORE = {
    "id",
    "name",
    "domain_id",
    "enabled",
    "password",
    "default_project_id",
    "options",
    "links",
    "password_expires_at",
}
_GROUP_CORE = {"id", "name", "domain_id", "description", "links"}


async def fetch_user(s: AsyncSession, user_id: str) -> m.User:
    """A user by id, or 404."""
    return await fetch(s, m.User, user_id, "user")


async def fetch_group(s: AsyncSession, group_id: str) -> m.Group:
    """A group by id, or 404."""
    return await fetch(s, m.Group, group_id, "group")


async def get_user(idn: Identity, user_id: str) -> m.User:
    """One user."""
    async with idn.db.session() as s:
        return await fetch_user(s, user_id)


async def find_user(idn: Identity, name: str, domain_id: str) -> m.User | None:
    """A user by name in a domain."""
    async with idn.db.session() as s:
        return await s.scalar(
            select(m.User).where(m.User.name == name, m.User.domain_id == domain_id)
        )


async def list_users(idn: Identity, query: Mapping[str, str]) -> list[m.User]:
    """Users matching Keystone's filters."""
    stmt = filters.apply(
        select(m.User),
        query,
        {
            "name": m.User.name,
            "enabled": m.User.enabled,
            "domain_id": m.User.domain_id,
            "id": m.User.id,
        },
    )
    async with idn.db.session() as s:
        return list((await s.scalars(stmt.order_by(m.User.name))).all())


async def create_user(idn: Identity, body: dict[str, Any]) -> m.User:
    """Create a user; the password, if any, is stored only as a bcrypt hash."""
    password = body.get("password")
    hashed = (
        await passwords.hash_password(password, idn.settings.identity.password_hash_rounds)
        if password is not None
        else None
    )
    extra = {k: v for k, v in body.items() if k not in _USER_CORE}

    async def _do(s: AsyncSession) -> m.User:
        domain_id = body.get("domain_id") or DEFAULT_DOMAIN_ID
        await fetch_domain(s, domain_id)
        await _check_default_project(s, body.get("default_project_id"))
        row = m.User(
            id=new_id(),
            name=body["name"],
            domain_id=domain_id,
            enabled=body.get("enabled", True),
            password_hash=hashed,
            password_created_at=utcnow() if hashed else None,
            default_project_id=body.get("default_project_id"),
            options=body.get("options") or {},
            extra=extra,
            created_at=utcnow(),
        )
        s.add(row)
        await s.flush()
        return row

    return await idn.tx(
        _do,
        conflict=f"Conflict occurred attempting to store user - Duplicate entry found with name "
        f"{body['name']} at domain ID {body.get('domain_id') or DEFAULT_DOMAIN_ID}.",
    )


async def update_user(idn: Identity, user_id: str, body: dict[str, Any]) -> m.User:
    """Change a user; disabling it or setting its password revokes its tokens."""
    password = body.get("password")
    hashed = (
        await passwords.hash_password(password, idn.settings.identity.password_hash_rounds)
        if password is not None
        else None
    )

    async def _do(s: AsyncSession) -> tuple[m.User, list[Event]]:
        row = await fetch_user(s, user_id)
        if "domain_id" in body and body["domain_id"] != row.domain_id:
            raise errors.BadRequest("Update of `domain_id` is not allowed.")
        if "id" in body and body["id"] != row.id:
            raise errors.BadRequest("Update of `id` is not allowed.")
        revoke = False
        if "name" in body:
            row.name = body["name"]
        if "enabled" in body:
            revoke = revoke or (row.enabled and not body["enabled"])
            row.enabled = body["enabled"]
        if "default_project_id" in body:
            await _check_default_project(s, body["default_project_id"])
            row.default_project_id = body["default_project_id"]
        if "options" in body:
            row.options = {**row.options, **(body["options"] or {})}
        if hashed is not None:
            await _set_password(s, row, hashed)
            revoke = True
        extra = {k: v for k, v in body.items() if k not in _USER_CORE}
        if extra:
            row.extra = {**row.extra, **extra}
        events = [Event("user", row.id, time.time())] if revoke else []
        return row, idn.record_revocations(s, events)

    row, events = await idn.tx(
        _do, conflict="Conflict occurred attempting to store user - Duplicate entry found."
    )
    idn.apply_revocations(events)
    return row


async def _check_default_project(s: AsyncSession, project_id: str | None) -> None:
    if project_id:
        project = await s.get(m.Project, project_id)
        if project is not None and project.is_domain:
            raise errors.BadRequest("User's default project ID cannot be a domain ID.")


async def _set_password(s: AsyncSession, row: m.User, hashed: str) -> None:
    if row.password_hash:
        s.add(m.PasswordHistory(user_id=row.id, password_hash=row.password_hash))
    row.password_hash = hashed
    row.password_created_at = utcnow()


async def change_password(idn: Identity, user_id: str, original: str, new: str) -> None:
    """Self-service password change: the original must match; every token is revoked."""
    user = await get_user(idn, user_id)
    if not await passwords.verify_password(original, user.password_hash):
        raise errors.Unauthorized("The request you have made requires authentication.")
    hashed = await passwords.hash_password(new, idn.settings.identity.password_hash_rounds)

    async def _do(s: AsyncSession) -> list[Event]:
        row = await fetch_user(s, user_id)
        await _set_password(s, row, hashed)
        return idn.record_revocations(s, [Event("user", user_id, time.time())])

    idn.apply_revocations(await idn.tx(_do))


async def delete_user(idn: Identity, user_id: str) -> None:
    """Delete a user with its assignments, memberships and credentials; revoke its tokens."""

    async def _do(s: AsyncSession) -> list[Event]:
        row = await fetch_user(s, user_id)
        await s.execute(delete(m.Assignment).where(m.Assignment.actor_id == user_id))
        await s.execute(delete(m.Credential).where(m.Credential.user_id == user_id))
        await s.execute(
            delete(m.ApplicationCredential).where(m.ApplicationCredential.user_id == user_id)
        )
        await s.execute(delete(m.AccessRule).where(m.AccessRule.user_id == user_id))
        # Trusts the user gave or received are void with the user gone (Keystone deletes them).
        trusts = (
            await s.scalars(
                select(m.Trust.id).where(
                    (m.Trust.trustor_user_id == user_id) | (m.Trust.trustee_user_id == user_id)
                )
            )
        ).all()
        if trusts:
            await s.execute(delete(m.Trust).where(m.Trust.id.in_(trusts)))
        await s.delete(row)
        now = time.time()
        events = [Event("user", user_id, now), *(Event("trust", t, now) for t in trusts)]
        return idn.record_revocations(s, events)

    idn.apply_revocations(await idn.tx(_do))


# -- groups -------------------------------------------------------------------


async def get_group(idn: Identity, group_id: str) -> m.Group:
    """One group."""
    async with idn.db.session() as s:
        return await fetch_group(s, group_id)


async def list_groups(idn: Identity, query: Mapping[str, str]) -> list[m.Group]:
    """Groups matching the name/domain filters."""
    stmt = filters.apply(
        select(m.Group), query, {"name": m.Group.name, "domain_id": m.Group.domain_id}
    )
    async with idn.db.session() as s:
        return list((await s.scalars(stmt.order_by(m.Group.name))).all())


async def create_group(idn: Identity, body: dict[str, Any]) -> m.Group:
    """Create a group in a domain."""
    extra = {k: v for k, v in body.items() if k not in _GROUP_CORE}

    async def _do(s: AsyncSession) -> m.Group:
        domain_id = body.get("domain_id") or DEFAULT_DOMAIN_ID
        await fetch_domain(s, domain_id)
        row = m.Group(
            id=new_id(),
            name=body["name"],
            domain_id=domain_id,
            description=body.get("description") or "",
            extra=extra,
        )
        s.add(row)
        await s.flush()
        return row

    return await idn.tx(
        _do,
        conflict=f"Conflict occurred attempting to store group - Duplicate entry found "
        f"with name {body['name']}.",
    )


async def update_group(idn: Identity, group_id: str, body: dict[str, Any]) -> m.Group:
    """Rename or describe a group."""

    async def _do(s: AsyncSession) -> m.Group:
        row = await fetch_group(s, group_id)
        if "domain_id" in body and body["domain_id"] != row.domain_id:
            raise errors.BadRequest("Update of `domain_id` is not allowed.")
        if "name" in body:
            row.name = body["name"]
        if "description" in body:
            row.description = body["description"] or ""
        extra = {k: v for k, v in body.items() if k not in _GROUP_CORE}
        if extra:
            row.extra = {**row.extra, **extra}
        return row

    return await idn.tx(
        _do, conflict="Conflict occurred attempting to store group - Duplicate entry found."
    )


async def _member_ids(s: AsyncSession, group_id: str) -> list[str]:
    return list(
        (
            await s.scalars(
                select(m.GroupMembership.user_id).where(m.GroupMembership.group_id == group_id)
            )
        ).all()
    )


async def delete_group(idn: Identity, group_id: str) -> None:
    """Delete a group; its members lose the roles it gave them."""

    async def _do(s: AsyncSession) -> list[Event]:
        row = await fetch_group(s, group_id)
        members = await _member_ids(s, group_id)
        had_roles = await s.scalar(
            select(m.Assignment.role_id).where(m.Assignment.actor_id == group_id).limit(1)
        )
        await s.execute(delete(m.Assignment).where(m.Assignment.actor_id == group_id))
        await s.delete(row)
        now = time.time()
        events = [Event("user", uid, now) for uid in members] if had_roles else []
        return idn.record_revocations(s, events)

    idn.apply_revocations(await idn.tx(_do))


async def add_member(idn: Identity, group_id: str, user_id: str) -> None:
    """Put a user in a group (idempotent)."""

    async def _do(s: AsyncSession) -> None:
        await fetch_group(s, group_id)
        await fetch_user(s, user_id)
        await insert_ignore(s, m.GroupMembership, user_id=user_id, group_id=group_id)

    await idn.tx(_do)


async def check_member(idn: Identity, group_id: str, user_id: str) -> None:
    """404 unless the user is in the group."""
    async with idn.db.session() as s:
        await fetch_group(s, group_id)
        await fetch_user(s, user_id)
        if await s.get(m.GroupMembership, (user_id, group_id)) is None:
            raise errors.NotFound(f"User {user_id} is not a member of group {group_id}.")


async def remove_member(idn: Identity, group_id: str, user_id: str) -> None:
    """Take a user out of a group; tokens carrying roles from the group stop working."""

    async def _do(s: AsyncSession) -> list[Event]:
        await fetch_group(s, group_id)
        await fetch_user(s, user_id)
        row = await s.get(m.GroupMembership, (user_id, group_id))
        if row is None:
            raise errors.NotFound(f"User {user_id} is not a member of group {group_id}.")
        await s.delete(row)
        return idn.record_revocations(s, [Event("user", user_id, time.time())])

    idn.apply_revocations(await idn.tx(_do))


async def group_users(idn: Identity, group_id: str, query: Mapping[str, str]) -> list[m.User]:
    """Members of a group."""
    stmt = (
        select(m.User)
        .join(m.GroupMembership, m.GroupMembership.user_id == m.User.id)
        .where(m.GroupMembership.group_id == group_id)
    )
    stmt = filters.apply(
        stmt, query, {"name": m.User.name, "enabled": m.User.enabled, "domain_id": m.User.domain_id}
    )
    async with idn.db.session() as s:
        await fetch_group(s, group_id)
        return list((await s.scalars(stmt.order_by(m.User.name))).all())


async def user_groups(idn: Identity, user_id: str) -> list[m.Group]:
    """Groups a user belongs to."""
    async with idn.db.session() as s:
        await fetch_user(s, user_id)
        stmt = (
            select(m.Group)
            .join(m.GroupMembership, m.GroupMembership.group_id == m.Group.id)
            .where(m.GroupMembership.user_id == user_id)
            .order_by(m.Group.name)
        )
        return list((await s.scalars(stmt)).all())
