"""What hangs off a flavor: the projects a private flavor is shared with, and extra specs."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.compute import models as m
from stackling.compute.service import access, checks, lookup
from stackling.compute.service.core import ComputeService
from stackling.compute.service.flavors import load

_SPEC_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
_ACCESS_POLICY = "os_compute_api:os-flavor-access"


# -- access -----------------------------------------------------------------


async def _access_list(s: AsyncSession, flavor: m.Flavor) -> list[dict[str, str]]:
    rows = await s.scalars(
        select(m.FlavorProject)
        .where(m.FlavorProject.flavor_id == flavor.id)
        .order_by(m.FlavorProject.project_id)
    )
    return [{"flavor_id": flavor.flavorid, "tenant_id": row.project_id} for row in rows]


async def list_access(
    svc: ComputeService, ctx: RequestContext, flavor_id: str
) -> list[dict[str, str]]:
    """GET /flavors/{id}/os-flavor-access (admin): the projects a private flavor is shared with."""
    access.require_admin(ctx, _ACCESS_POLICY)
    async with svc.db.session() as s:
        flavor = await load(s, ctx, flavor_id)
        if flavor.is_public:
            raise errors.NotFound("Access list not available for public flavors.")
        return await _access_list(s, flavor)


def _tenant(body: dict[str, Any], action: str) -> str:
    data = checks.obj(body.get(action), action)
    checks.only(data, ("tenant",), action)
    checks.required(data, ("tenant",), action)
    return checks.string(data["tenant"], "tenant", min_length=1)


async def flavor_action(
    svc: ComputeService, ctx: RequestContext, flavor_id: str, body: dict[str, Any]
) -> list[dict[str, str]]:
    """POST /flavors/{id}/action: addTenantAccess or removeTenantAccess (admin)."""
    if "addTenantAccess" in body:
        access.require_admin(ctx, f"{_ACCESS_POLICY}:add_tenant_access")
        return await _add_access(svc, ctx, flavor_id, _tenant(body, "addTenantAccess"))
    if "removeTenantAccess" in body:
        access.require_admin(ctx, f"{_ACCESS_POLICY}:remove_tenant_access")
        return await _remove_access(svc, ctx, flavor_id, _tenant(body, "removeTenantAccess"))
    raise errors.BadRequest(f"There is no such action: {', '.join(map(str, body)) or 'None'}")


async def _add_access(
    svc: ComputeService, ctx: RequestContext, flavor_id: str, project_id: str
) -> list[dict[str, str]]:
    async def _add(s: AsyncSession) -> list[dict[str, str]]:
        flavor = await load(s, ctx, flavor_id)
        if flavor.is_public:
            raise errors.Conflict("Can not add access to a public flavor.")
        if await s.get(m.FlavorProject, (flavor.id, project_id)) is not None:
            raise errors.Conflict(
                f"Flavor access already exists for flavor {flavor_id} and project "
                f"{project_id} combination."
            )
        s.add(m.FlavorProject(flavor_id=flavor.id, project_id=project_id))
        await s.flush()
        return await _access_list(s, flavor)

    return await svc.tx(_add)


async def _remove_access(
    svc: ComputeService, ctx: RequestContext, flavor_id: str, project_id: str
) -> list[dict[str, str]]:
    async def _remove(s: AsyncSession) -> list[dict[str, str]]:
        flavor = await load(s, ctx, flavor_id)
        row = await s.get(m.FlavorProject, (flavor.id, project_id))
        if row is None:
            raise errors.NotFound(
                f"Flavor access not found for {flavor_id} / {project_id} combination."
            )
        await s.delete(row)
        await s.flush()
        return await _access_list(s, flavor)

    return await svc.tx(_remove)


# -- extra specs ------------------------------------------------------------


def check_specs(specs: Any, field: str = "extra_specs") -> dict[str, str]:
    """Extra specs as Nova accepts them: safe keys, string or number values of <= 255 chars."""
    data = checks.obj(specs, field)
    out: dict[str, str] = {}
    for key, value in data.items():
        if not _SPEC_KEY.match(str(key)):
            raise checks.invalid(
                field,
                data,
                f"Additional properties are not allowed ('{key}' does not match "
                f"'{_SPEC_KEY.pattern}')",
            )
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise checks.invalid(
                f"{field}/{key}", value, f"{value!r} is not of type 'string', 'number'"
            )
        text = value if isinstance(value, str) else str(value)
        if len(text) > 255:
            raise checks.invalid(f"{field}/{key}", value, "The length must be at most 255.")
        out[key] = text
    return out


async def list_specs(svc: ComputeService, ctx: RequestContext, flavor_id: str) -> dict[str, str]:
    """GET /flavors/{id}/os-extra_specs."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        return await lookup.extra_specs(s, await load(s, ctx, flavor_id))


async def show_spec(
    svc: ComputeService, ctx: RequestContext, flavor_id: str, key: str
) -> dict[str, str]:
    """GET /flavors/{id}/os-extra_specs/{key}: `{key: value}`."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        flavor = await load(s, ctx, flavor_id)
        row = await s.get(m.FlavorExtraSpec, (flavor.id, key))
        if row is None:
            raise _spec_missing(flavor_id, key)
        return {key: row.value}


def _spec_missing(flavor_id: str, key: str) -> errors.NotFound:
    return errors.NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")


async def _write_specs(s: AsyncSession, flavor: m.Flavor, specs: dict[str, str]) -> None:
    for key, value in specs.items():
        row = await s.get(m.FlavorExtraSpec, (flavor.id, key))
        if row is None:
            s.add(m.FlavorExtraSpec(flavor_id=flavor.id, key=key, value=value))
        else:
            row.value = value
    flavor.updated_at = m.now()
    await s.flush()


async def create_specs(
    svc: ComputeService, ctx: RequestContext, flavor_id: str, body: dict[str, Any]
) -> dict[str, str]:
    """POST /flavors/{id}/os-extra_specs (admin): add or replace keys; the keys sent."""
    access.require_admin(ctx, "os_compute_api:os-flavor-extra-specs:create")
    checks.only(body, ("extra_specs",), "body")
    checks.required(body, ("extra_specs",), "body")
    specs = check_specs(body["extra_specs"])

    async def _create(s: AsyncSession) -> None:
        await _write_specs(s, await load(s, ctx, flavor_id), specs)

    await svc.tx(_create)
    return specs


async def update_spec(
    svc: ComputeService, ctx: RequestContext, flavor_id: str, key: str, body: dict[str, Any]
) -> dict[str, str]:
    """PUT /flavors/{id}/os-extra_specs/{key} (admin): the body names exactly that key."""
    access.require_admin(ctx, "os_compute_api:os-flavor-extra-specs:update")
    specs = check_specs(body, "extra_specs")
    if len(specs) != 1:
        raise checks.invalid("extra_specs", body, "Exactly one key must be given.")
    if key not in specs:
        raise errors.BadRequest("Request body and URI mismatch")

    async def _update(s: AsyncSession) -> None:
        await _write_specs(s, await load(s, ctx, flavor_id), specs)

    await svc.tx(_update)
    return specs


async def delete_spec(svc: ComputeService, ctx: RequestContext, flavor_id: str, key: str) -> None:
    """DELETE /flavors/{id}/os-extra_specs/{key} (admin)."""
    access.require_admin(ctx, "os_compute_api:os-flavor-extra-specs:delete")

    async def _delete(s: AsyncSession) -> None:
        flavor = await load(s, ctx, flavor_id)
        result = await s.execute(
            delete(m.FlavorExtraSpec).where(
                m.FlavorExtraSpec.flavor_id == flavor.id, m.FlavorExtraSpec.key == key
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise _spec_missing(flavor_id, key)
        flavor.updated_at = m.now()

    await svc.tx(_delete)
