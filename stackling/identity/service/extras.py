"""Administrative extras: policies, domain configuration, OAuth consumers, endpoint filters."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.ids import new_id
from stackling.identity import models as m
from stackling.identity import passwords
from stackling.identity.service import filters
from stackling.identity.service.catalog import fetch_endpoint
from stackling.identity.service.core import Identity, fetch
from stackling.identity.service.resources import fetch_domain, fetch_project, tags_of

# -- policies -------------------------------------------------------------------------------

_POLICY_CORE = {"id", "links", "blob", "type"}


async def _fetch_policy(s: AsyncSession, policy_id: str) -> m.Policy:
    return await fetch(s, m.Policy, policy_id, "policy")


async def list_policies(idn: Identity, query: Mapping[str, str]) -> list[m.Policy]:
    """Stored policies, filtered by type."""
    stmt = filters.apply(select(m.Policy), query, {"type": m.Policy.type})
    async with idn.db.session() as s:
        return list((await s.scalars(stmt.order_by(m.Policy.id))).all())


async def get_policy(idn: Identity, policy_id: str) -> m.Policy:
    """One policy."""
    async with idn.db.session() as s:
        return await _fetch_policy(s, policy_id)


async def create_policy(idn: Identity, body: dict[str, Any]) -> m.Policy:
    """Store an opaque policy blob."""

    async def _do(s: AsyncSession) -> m.Policy:
        row = m.Policy(
            id=new_id(),
            type=body["type"],
            blob=body["blob"],
            extra={k: v for k, v in body.items() if k not in _POLICY_CORE},
        )
        s.add(row)
        await s.flush()
        return row

    return await idn.tx(_do)


async def update_policy(idn: Identity, policy_id: str, body: dict[str, Any]) -> m.Policy:
    """Change a policy's blob, type or extra attributes."""

    async def _do(s: AsyncSession) -> m.Policy:
        row = await _fetch_policy(s, policy_id)
        if "type" in body:
            row.type = body["type"]
        if "blob" in body:
            row.blob = body["blob"]
        extra = {k: v for k, v in body.items() if k not in _POLICY_CORE}
        if extra:
            row.extra = {**row.extra, **extra}
        return row

    return await idn.tx(_do)


async def delete_policy(idn: Identity, policy_id: str) -> None:
    """Delete a policy."""

    async def _do(s: AsyncSession) -> None:
        await s.delete(await _fetch_policy(s, policy_id))

    await idn.tx(_do)


# -- domain configuration -------------------------------------------------------------------

# What a domain may override, with Keystone's defaults: the identity backend
# and the LDAP connection. Only these groups and options are accepted.
CONFIG_DEFAULTS: dict[str, dict[str, Any]] = {
    "identity": {"driver": "sql", "list_limit": None},
    "ldap": {
        "url": "ldap://localhost",
        "user": None,
        "suffix": "cn=example,cn=com",
        "query_scope": "one",
        "page_size": 0,
        "alias_dereferencing": "default",
        "debug_level": None,
        "chase_referrals": None,
        "user_tree_dn": None,
        "user_filter": None,
        "user_objectclass": "inetOrgPerson",
        "user_id_attribute": "cn",
        "user_name_attribute": "sn",
        "user_mail_attribute": "mail",
        "user_description_attribute": "description",
        "user_pass_attribute": "userPassword",
        "user_enabled_attribute": "enabled",
        "user_enabled_invert": False,
        "user_enabled_mask": 0,
        "user_enabled_default": "True",
        "user_attribute_ignore": ["default_project_id"],
        "user_default_project_id_attribute": None,
        "user_enabled_emulation": False,
        "user_enabled_emulation_dn": None,
        "user_enabled_emulation_use_group_config": False,
        "user_additional_attribute_mapping": [],
        "group_tree_dn": None,
        "group_filter": None,
        "group_objectclass": "groupOfNames",
        "group_id_attribute": "cn",
        "group_name_attribute": "ou",
        "group_members_are_ids": False,
        "group_member_attribute": "member",
        "group_desc_attribute": "description",
        "group_attribute_ignore": [],
        "group_additional_attribute_mapping": [],
        "tls_cacertfile": None,
        "tls_cacertdir": None,
        "use_tls": False,
        "tls_req_cert": "demand",
        "use_pool": True,
        "pool_size": 10,
        "pool_retry_max": 3,
        "pool_retry_delay": 0.1,
        "pool_connection_timeout": -1,
        "pool_connection_lifetime": 600,
        "use_auth_pool": True,
        "auth_pool_size": 100,
        "auth_pool_connection_lifetime": 60,
    },
}
# Accepted and stored, never shown.
SENSITIVE: dict[str, frozenset[str]] = {"identity": frozenset(), "ldap": frozenset({"password"})}


def _check_group_option(group: str | None, option: str | None) -> None:
    """Keystone answers 403 for groups and options a domain may not configure."""
    if group is None:
        return
    if group not in CONFIG_DEFAULTS:
        raise errors.Forbidden(
            f"Group {group} is not supported for domain specific configurations."
        )
    if (
        option is not None
        and option not in CONFIG_DEFAULTS[group]
        and option not in SENSITIVE[group]
    ):
        raise errors.Forbidden(
            f"Option {option} in group {group} is not supported for domain specific configurations."
        )


def _check_config(config: Mapping[str, Any]) -> None:
    if not config:
        raise errors.Forbidden("Invalid domain specific configuration: no options specified.")
    for group, options in config.items():
        if not isinstance(options, dict) or not options:
            raise errors.Forbidden(
                f"Invalid domain specific configuration: the value of group {group} should be "
                "a dictionary of options."
            )
        for option in options:
            _check_group_option(group, option)


def default_config(group: str | None = None, option: str | None = None) -> dict[str, Any]:
    """Keystone's defaults: everything, one group, or one option."""
    _check_group_option(group, option)
    if group is None:
        return {g: dict(opts) for g, opts in CONFIG_DEFAULTS.items()}
    if option is None:
        return {group: dict(CONFIG_DEFAULTS[group])}
    if option not in CONFIG_DEFAULTS[group]:
        raise errors.Forbidden(
            f"Reading the default for option {option} in group {group} is not supported."
        )
    return {option: CONFIG_DEFAULTS[group][option]}


async def _options(
    s: AsyncSession, domain_id: str, group: str | None = None, option: str | None = None
) -> list[m.DomainConfig]:
    stmt = select(m.DomainConfig).where(m.DomainConfig.domain_id == domain_id)
    if group is not None:
        stmt = stmt.where(m.DomainConfig.group == group)
    if option is not None:
        stmt = stmt.where(m.DomainConfig.option == option)
    return list((await s.scalars(stmt.order_by(m.DomainConfig.group, m.DomainConfig.option))).all())


def _as_config(rows: list[m.DomainConfig]) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if not row.sensitive:
            out.setdefault(row.group, {})[row.option] = row.value
    return out


def _what(group: str | None, option: str | None) -> str:
    if option is not None:
        return f"option {option} in group {group}"
    return f"group {group}" if group is not None else "any options"


async def _put_options(s: AsyncSession, domain_id: str, config: Mapping[str, Any]) -> None:
    for group, options in config.items():
        for option, value in options.items():
            row = await s.get(m.DomainConfig, (domain_id, group, option))
            if row is None:
                s.add(
                    m.DomainConfig(
                        domain_id=domain_id,
                        group=group,
                        option=option,
                        value=value,
                        sensitive=option in SENSITIVE[group],
                    )
                )
            else:
                row.value = value
    await s.flush()


async def get_config(
    idn: Identity, domain_id: str, group: str | None = None, option: str | None = None
) -> dict[str, Any]:
    """A domain's configuration (sensitive options left out); 404 when nothing is set."""
    _check_group_option(group, option)
    async with idn.db.session() as s:
        await fetch_domain(s, domain_id)
        config = _as_config(await _options(s, domain_id, group, option))
    if not config:
        raise errors.NotFound(
            f"Could not find {_what(group, option)} in the configuration of domain {domain_id}."
        )
    if option is not None:
        return {option: config[group][option]}  # type: ignore[index]
    return config


async def create_config(
    idn: Identity, domain_id: str, config: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Replace a domain's whole configuration; also whether there was none before."""
    _check_config(config)

    async def _do(s: AsyncSession) -> tuple[dict[str, Any], bool]:
        await fetch_domain(s, domain_id)
        existed = bool(await _options(s, domain_id))
        await s.execute(delete(m.DomainConfig).where(m.DomainConfig.domain_id == domain_id))
        await _put_options(s, domain_id, config)
        return _as_config(await _options(s, domain_id)), not existed

    return await idn.tx(_do)


async def update_config(
    idn: Identity,
    domain_id: str,
    config: dict[str, Any],
    group: str | None = None,
    option: str | None = None,
) -> dict[str, Any]:
    """Merge options into a domain's configuration; a named group/option must already exist.

    Below /{group}/{option} the body holds just {option: value}, as Keystone takes it.
    """
    _check_group_option(group, option)
    if group is not None and option is not None:
        config = {group: config}
    _check_config(config)
    if group is not None and (
        set(config) != {group} or (option is not None and set(config[group]) != {option})
    ):
        raise errors.Forbidden(
            f"Trying to update {_what(group, option)}, so that, and only that, "
            f"{'option' if option else 'group'} must be specified in the config."
        )

    async def _do(s: AsyncSession) -> dict[str, Any]:
        await fetch_domain(s, domain_id)
        if group is not None and not await _options(s, domain_id, group, option):
            raise errors.NotFound(
                f"Could not find {_what(group, option)} in the configuration of domain {domain_id}."
            )
        await _put_options(s, domain_id, config)
        return _as_config(await _options(s, domain_id))

    return await idn.tx(_do)


async def delete_config(
    idn: Identity, domain_id: str, group: str | None = None, option: str | None = None
) -> None:
    """Delete a domain's configuration, one group of it, or one option."""
    _check_group_option(group, option)

    async def _do(s: AsyncSession) -> None:
        await fetch_domain(s, domain_id)
        rows = await _options(s, domain_id, group, option)
        if group is not None and not rows:
            raise errors.NotFound(
                f"Could not find {_what(group, option)} in the configuration of domain {domain_id}."
            )
        for row in rows:
            await s.delete(row)

    await idn.tx(_do)


# -- OAuth 1.0a consumers ------------------------------------------------------------------

_CONSUMER_CORE = {"id", "links", "description", "secret"}


async def _fetch_consumer(s: AsyncSession, consumer_id: str) -> m.OAuthConsumer:
    return await fetch(s, m.OAuthConsumer, consumer_id, "consumer")


async def list_consumers(idn: Identity) -> list[m.OAuthConsumer]:
    """Every consumer."""
    async with idn.db.session() as s:
        return list((await s.scalars(select(m.OAuthConsumer).order_by(m.OAuthConsumer.id))).all())


async def get_consumer(idn: Identity, consumer_id: str) -> m.OAuthConsumer:
    """One consumer."""
    async with idn.db.session() as s:
        return await _fetch_consumer(s, consumer_id)


async def create_consumer(idn: Identity, body: dict[str, Any]) -> tuple[m.OAuthConsumer, str]:
    """Register a consumer; its secret is stored hashed and returned this once."""
    secret = secrets.token_urlsafe(32)
    hashed = await passwords.hash_password(secret, idn.settings.identity.password_hash_rounds)

    async def _do(s: AsyncSession) -> m.OAuthConsumer:
        row = m.OAuthConsumer(
            id=new_id(),
            description=body.get("description"),
            secret_hash=hashed,
            extra={k: v for k, v in body.items() if k not in _CONSUMER_CORE},
        )
        s.add(row)
        await s.flush()
        return row

    return await idn.tx(_do), secret


async def update_consumer(idn: Identity, consumer_id: str, body: dict[str, Any]) -> m.OAuthConsumer:
    """Change a consumer's description or extra attributes (never its secret)."""
    if "secret" in body:
        raise errors.BadRequest("Cannot change consumer secret.")

    async def _do(s: AsyncSession) -> m.OAuthConsumer:
        row = await _fetch_consumer(s, consumer_id)
        if "description" in body:
            row.description = body["description"]
        extra = {k: v for k, v in body.items() if k not in _CONSUMER_CORE}
        if extra:
            row.extra = {**row.extra, **extra}
        return row

    return await idn.tx(_do)


async def delete_consumer(idn: Identity, consumer_id: str) -> None:
    """Delete a consumer."""

    async def _do(s: AsyncSession) -> None:
        await s.delete(await _fetch_consumer(s, consumer_id))

    await idn.tx(_do)


# -- endpoint groups (OS-EP-FILTER) -------------------------------------------------------

ENDPOINT = "endpoint"
ENDPOINT_GROUP = "endpoint_group"
ProjectRow = tuple[m.Project, list[str]]


async def _fetch_group(s: AsyncSession, group_id: str) -> m.EndpointGroup:
    return await fetch(s, m.EndpointGroup, group_id, "endpoint group")


async def list_endpoint_groups(idn: Identity, query: Mapping[str, str]) -> list[m.EndpointGroup]:
    """Endpoint groups, filtered by name."""
    stmt = filters.apply(select(m.EndpointGroup), query, {"name": m.EndpointGroup.name})
    async with idn.db.session() as s:
        return list((await s.scalars(stmt.order_by(m.EndpointGroup.name))).all())


async def get_endpoint_group(idn: Identity, group_id: str) -> m.EndpointGroup:
    """One endpoint group."""
    async with idn.db.session() as s:
        return await _fetch_group(s, group_id)


async def create_endpoint_group(idn: Identity, body: dict[str, Any]) -> m.EndpointGroup:
    """Create a named filter over endpoints (by service_id, region_id, interface)."""
    if not body.get("filters"):
        raise errors.BadRequest("filters field is required and cannot be empty.")

    async def _do(s: AsyncSession) -> m.EndpointGroup:
        row = m.EndpointGroup(
            id=new_id(),
            name=body["name"],
            description=body.get("description") or "",
            filters=body["filters"],
        )
        s.add(row)
        await s.flush()
        return row

    return await idn.tx(_do)


async def update_endpoint_group(
    idn: Identity, group_id: str, body: dict[str, Any]
) -> m.EndpointGroup:
    """Change an endpoint group."""
    if "filters" in body and not body["filters"]:
        raise errors.BadRequest("filters cannot be empty.")

    async def _do(s: AsyncSession) -> m.EndpointGroup:
        row = await _fetch_group(s, group_id)
        if body.get("name") is not None:
            row.name = body["name"]
        if "description" in body:
            row.description = body["description"] or ""
        if "filters" in body:
            row.filters = body["filters"]
        return row

    return await idn.tx(_do)


async def delete_endpoint_group(idn: Identity, group_id: str) -> None:
    """Delete an endpoint group and its project associations."""

    async def _do(s: AsyncSession) -> None:
        row = await _fetch_group(s, group_id)
        await s.execute(
            delete(m.ProjectEndpoint).where(
                m.ProjectEndpoint.kind == ENDPOINT_GROUP, m.ProjectEndpoint.target_id == group_id
            )
        )
        await s.delete(row)

    await idn.tx(_do)


def _matches(endpoint: m.Endpoint, group_filters: Mapping[str, Any]) -> bool:
    return all(getattr(endpoint, key, None) == value for key, value in group_filters.items())


async def _group_endpoints(s: AsyncSession, group: m.EndpointGroup) -> list[m.Endpoint]:
    rows = (await s.scalars(select(m.Endpoint).order_by(m.Endpoint.id))).all()
    return [e for e in rows if _matches(e, group.filters)]


async def endpoints_in_group(idn: Identity, group_id: str) -> list[m.Endpoint]:
    """The endpoints an endpoint group's filters select."""
    async with idn.db.session() as s:
        return await _group_endpoints(s, await _fetch_group(s, group_id))


# -- project associations ------------------------------------------------------------------


async def _association(
    s: AsyncSession, project_id: str, kind: str, target_id: str
) -> m.ProjectEndpoint | None:
    return await s.get(m.ProjectEndpoint, (project_id, kind, target_id))


async def _associate(idn: Identity, project_id: str, kind: str, target_id: str) -> None:
    async def _do(s: AsyncSession) -> None:
        await fetch_project(s, project_id)
        if kind == ENDPOINT:
            await fetch_endpoint(s, target_id)
        else:
            await _fetch_group(s, target_id)
        if await _association(s, project_id, kind, target_id) is None:
            s.add(m.ProjectEndpoint(project_id=project_id, kind=kind, target_id=target_id))

    await idn.tx(_do)


def _missing(project_id: str, kind: str, target_id: str) -> errors.NotFound:
    what = "Endpoint" if kind == ENDPOINT else "Endpoint group"
    return errors.NotFound(f"{what} {target_id} is not associated with project {project_id}.")


async def _check(idn: Identity, project_id: str, kind: str, target_id: str) -> None:
    async with idn.db.session() as s:
        await fetch_project(s, project_id)
        if kind == ENDPOINT:
            await fetch_endpoint(s, target_id)
        else:
            await _fetch_group(s, target_id)
        if await _association(s, project_id, kind, target_id) is None:
            raise _missing(project_id, kind, target_id)


async def _dissociate(idn: Identity, project_id: str, kind: str, target_id: str) -> None:
    async def _do(s: AsyncSession) -> None:
        row = await _association(s, project_id, kind, target_id)
        if row is None:
            raise _missing(project_id, kind, target_id)
        await s.delete(row)

    await idn.tx(_do)


async def add_endpoint_to_project(idn: Identity, project_id: str, endpoint_id: str) -> None:
    """Associate an endpoint with a project (idempotent)."""
    await _associate(idn, project_id, ENDPOINT, endpoint_id)


async def check_endpoint_in_project(idn: Identity, project_id: str, endpoint_id: str) -> None:
    """404 unless the endpoint is associated with the project."""
    await _check(idn, project_id, ENDPOINT, endpoint_id)


async def remove_endpoint_from_project(idn: Identity, project_id: str, endpoint_id: str) -> None:
    """Remove an endpoint association."""
    await _dissociate(idn, project_id, ENDPOINT, endpoint_id)


async def add_group_to_project(idn: Identity, group_id: str, project_id: str) -> None:
    """Associate an endpoint group with a project (idempotent)."""
    await _associate(idn, project_id, ENDPOINT_GROUP, group_id)


async def check_group_in_project(idn: Identity, group_id: str, project_id: str) -> None:
    """404 unless the endpoint group is associated with the project."""
    await _check(idn, project_id, ENDPOINT_GROUP, group_id)


async def remove_group_from_project(idn: Identity, group_id: str, project_id: str) -> None:
    """Remove an endpoint group association."""
    await _dissociate(idn, project_id, ENDPOINT_GROUP, group_id)


async def _projects(s: AsyncSession, kind: str, target_id: str) -> list[ProjectRow]:
    rows = (
        await s.scalars(
            select(m.Project)
            .join(m.ProjectEndpoint, m.ProjectEndpoint.project_id == m.Project.id)
            .where(m.ProjectEndpoint.kind == kind, m.ProjectEndpoint.target_id == target_id)
            .order_by(m.Project.name)
        )
    ).all()
    tags = await tags_of(s, [p.id for p in rows])
    return [(p, tags[p.id]) for p in rows]


async def projects_for_endpoint(idn: Identity, endpoint_id: str) -> list[ProjectRow]:
    """Projects an endpoint is associated with directly."""
    async with idn.db.session() as s:
        await fetch_endpoint(s, endpoint_id)
        return await _projects(s, ENDPOINT, endpoint_id)


async def projects_for_group(idn: Identity, group_id: str) -> list[ProjectRow]:
    """Projects an endpoint group is associated with."""
    async with idn.db.session() as s:
        await _fetch_group(s, group_id)
        return await _projects(s, ENDPOINT_GROUP, group_id)


async def _targets(s: AsyncSession, project_id: str, kind: str) -> list[str]:
    return list(
        (
            await s.scalars(
                select(m.ProjectEndpoint.target_id).where(
                    m.ProjectEndpoint.project_id == project_id, m.ProjectEndpoint.kind == kind
                )
            )
        ).all()
    )


async def endpoints_for_project(idn: Identity, project_id: str) -> list[m.Endpoint]:
    """Endpoints associated with a project, directly or through its endpoint groups."""
    async with idn.db.session() as s:
        await fetch_project(s, project_id)
        found: dict[str, m.Endpoint] = {}
        direct = await _targets(s, project_id, ENDPOINT)
        if direct:
            for e in (await s.scalars(select(m.Endpoint).where(m.Endpoint.id.in_(direct)))).all():
                found[e.id] = e
        for group_id in await _targets(s, project_id, ENDPOINT_GROUP):
            group = await s.get(m.EndpointGroup, group_id)
            if group is not None:
                for e in await _group_endpoints(s, group):
                    found.setdefault(e.id, e)
    return sorted(found.values(), key=lambda e: e.id)


async def groups_for_project(idn: Identity, project_id: str) -> list[m.EndpointGroup]:
    """Endpoint groups associated with a project."""
    async with idn.db.session() as s:
        await fetch_project(s, project_id)
        ids = await _targets(s, project_id, ENDPOINT_GROUP)
        if not ids:
            return []
        return list(
            (
                await s.scalars(
                    select(m.EndpointGroup)
                    .where(m.EndpointGroup.id.in_(ids))
                    .order_by(m.EndpointGroup.name)
                )
            ).all()
        )
