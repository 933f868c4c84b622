"""Flavors: list, show, create, describe (2.55), delete, and the default set made at start-up."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.ids import new_uuid
from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.service import access, checks, lookup
from stackling.compute.service.core import ComputeService

LOG = logging.getLogger(__name__)

SORT_KEYS = {
    "created_at": m.Flavor.created_at,
    "description": m.Flavor.description,
    "disabled": m.Flavor.disabled,
    "ephemeral_gb": m.Flavor.ephemeral_gb,
    "flavorid": m.Flavor.flavorid,
    "id": m.Flavor.id,
    "is_public": m.Flavor.is_public,
    "memory_mb": m.Flavor.memory_mb,
    "name": m.Flavor.name,
    "root_gb": m.Flavor.root_gb,
    "rxtx_factor": m.Flavor.rxtx_factor,
    "swap": m.Flavor.swap,
    "updated_at": m.Flavor.updated_at,
    "vcpu_weight": m.Flavor.id,  # Nova's column; this cloud has no weights, so id order
    "vcpus": m.Flavor.vcpus,
}
_ID_FORMAT = re.compile(r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")
_RXTX_MAX = 3.40282e38
_CREATE_FIELDS = (
    "name", "id", "ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap", "rxtx_factor",
    "os-flavor-access:is_public",
)  # fmt: skip
# (flavorid, name, ram MB, vCPUs, disk GB): Nova's classic sizes plus one that fits the test image.
DEFAULT_FLAVORS = (
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
    ("3", "m1.medium", 4096, 2, 40),
    ("100", "s1.nano", 128, 1, 1),
)


@dataclass(slots=True)
class FlavorRecord:
    """A flavor with its extra specs (shown from 2.61)."""

    flavor: m.Flavor
    extra_specs: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class FlavorQuery:
    """GET /flavors parameters as given (strings), checked by list_flavors."""

    is_public: str | None = None
    min_ram: str | None = None
    min_disk: str | None = None
    sort_key: str | None = None
    sort_dir: str | None = None
    limit: int | None = None
    marker: str | None = None


def not_found(flavor_id: str) -> errors.NotFound:
    """Nova's 404 for a flavor."""
    return errors.NotFound(f"Flavor {flavor_id} could not be found.")


async def load(s: AsyncSession, ctx: RequestContext, flavor_id: str) -> m.Flavor:
    """A flavor the caller may see (public, shared with its project, or any for admin)."""
    flavor = await s.scalar(
        select(m.Flavor).where(m.Flavor.flavorid == flavor_id, lookup.flavor_access_clause(ctx))
    )
    if flavor is None:
        raise not_found(flavor_id)
    return flavor


async def records(s: AsyncSession, flavors: Sequence[m.Flavor]) -> list[FlavorRecord]:
    """Flavors with their extra specs, in one query for the lot."""
    out = {f.id: FlavorRecord(f) for f in flavors}
    if out:
        rows = await s.scalars(
            select(m.FlavorExtraSpec).where(m.FlavorExtraSpec.flavor_id.in_(list(out)))
        )
        for row in rows:
            out[row.flavor_id].extra_specs[row.key] = row.value
    return [out[f.id] for f in flavors]


def _public_filter(ctx: RequestContext, raw: str | None) -> bool | None:
    """True (default), False or None (both) — only admins choose; others always get True."""
    if not ctx.is_admin or raw is None:
        return True
    lowered = raw.strip().lower()
    if lowered == "none":
        return None
    if lowered in ("1", "t", "true", "on", "y", "yes"):
        return True
    if lowered in ("0", "f", "false", "off", "n", "no"):
        return False
    raise errors.BadRequest(f"Invalid is_public filter [{raw}]")


def _minimum(raw: str | None, what: str) -> int | None:
    if raw is None:
        return None
    try:
        number = int(raw)
    except ValueError:
        raise errors.BadRequest(f"Invalid {what} filter [{raw}]") from None
    # Beyond any column's range the filter means "none" (or "all"); keep it storable.
    return max(min(number, checks.MAX_INT), -checks.MAX_INT)


async def list_flavors(
    svc: ComputeService, ctx: RequestContext, q: FlavorQuery
) -> list[FlavorRecord]:
    """The flavors the caller may use, filtered, sorted and paged as Nova does."""
    access.require_reader(ctx)
    public = _public_filter(ctx, q.is_public)
    min_ram = _minimum(q.min_ram, "minRam")
    min_disk = _minimum(q.min_disk, "minDisk")
    sort_key = q.sort_key or "flavorid"
    if sort_key not in SORT_KEYS:
        raise errors.BadRequest(f"Invalid sort_key {sort_key!r}.")
    sort_dir = q.sort_dir or "asc"
    if sort_dir not in ("asc", "desc"):
        raise errors.BadRequest(f"Invalid sort_dir {sort_dir!r}.")
    query = select(m.Flavor)
    if public is True:
        # Public flavors plus the private ones shared with the caller's project (admins too).
        shared = exists().where(
            m.FlavorProject.flavor_id == m.Flavor.id,
            m.FlavorProject.project_id == ctx.project_id,
        )
        query = query.where(or_(m.Flavor.is_public.is_(True), shared))
    elif public is False:
        query = query.where(m.Flavor.is_public.is_(False))
    if not ctx.is_admin:
        query = query.where(m.Flavor.disabled.is_(False))
    if min_ram is not None:
        query = query.where(m.Flavor.memory_mb >= min_ram)
    if min_disk is not None:
        query = query.where(m.Flavor.root_gb >= min_disk)
    column = SORT_KEYS[sort_key]
    order = [column.asc().nulls_first(), m.Flavor.id.asc()]
    if sort_dir == "desc":
        order = [column.desc().nulls_last(), m.Flavor.id.desc()]
    async with svc.db.session() as s:
        flavors = list((await s.scalars(query.order_by(*order))).all())
        if q.marker is not None:
            # Flavors are few: find the marker in the ordered list rather than by keyset.
            ids = [f.flavorid for f in flavors]
            if q.marker not in ids:
                raise errors.BadRequest(f"marker [{q.marker}] not found")
            flavors = flavors[ids.index(q.marker) + 1 :]
        limit = svc.conf.api_max_limit if not q.limit else min(q.limit, svc.conf.api_max_limit)
        return await records(s, flavors[:limit])


async def show(svc: ComputeService, ctx: RequestContext, flavor_id: str) -> FlavorRecord:
    """One flavor the caller may see."""
    access.require_reader(ctx)
    async with svc.db.session() as s:
        return (await records(s, [await load(s, ctx, flavor_id)]))[0]


def _flavor_id(value: Any) -> str:
    if value is None:
        return new_uuid()
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise checks.invalid("id", value, f"{value!r} is not of type 'string', 'number', 'null'")
    if isinstance(value, str):
        if not 1 <= len(value) <= 255 or not _ID_FORMAT.match(value):
            raise checks.invalid(
                "id",
                value,
                "Only letters, digits, spaces, '.', '_' and '-' are allowed, "
                "without leading or trailing spaces.",
            )
        return value
    return str(value)


def _rxtx(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise checks.invalid("rxtx_factor", value, f"{value!r} is not of type 'number', 'string'")
    try:
        number = float(value)
    except ValueError:
        raise checks.invalid("rxtx_factor", value, "It must be a positive number.") from None
    if not 0 < number <= _RXTX_MAX:
        raise checks.invalid("rxtx_factor", value, f"It must be above 0 and at most {_RXTX_MAX}.")
    return number


def description(value: Any) -> str | None:
    """A flavor description: null or up to 65535 printable characters."""
    if value is None:
        return None
    text = checks.string(value, "description", max_length=65535)
    if not checks.printable(text):
        raise checks.invalid("description", value, "Only printable characters are allowed.")
    return text


def parse_create(body: dict[str, Any], mv: Version) -> dict[str, Any]:
    """The columns of a flavor from a POST /flavors body; 400 for anything Nova refuses."""
    data = checks.obj(body.get("flavor"), "flavor")
    checks.only(body, ("flavor",), "body")
    allowed = _CREATE_FIELDS + (("description",) if mv.at_least("2.55") else ())
    checks.only(data, allowed, "flavor")
    checks.required(data, ("name", "ram", "vcpus", "disk"), "flavor")
    values: dict[str, Any] = {
        "flavorid": _flavor_id(data.get("id")),
        "name": checks.name(data["name"]),
        "memory_mb": checks.integer(data["ram"], "ram", minimum=1),
        "vcpus": checks.integer(data["vcpus"], "vcpus", minimum=1),
        "root_gb": checks.integer(data["disk"], "disk", minimum=0),
        "ephemeral_gb": checks.integer(
            data.get("OS-FLV-EXT-DATA:ephemeral", 0), "OS-FLV-EXT-DATA:ephemeral", minimum=0
        ),
        "swap": checks.integer(data.get("swap", 0), "swap", minimum=0),
        "rxtx_factor": _rxtx(data.get("rxtx_factor", 1.0)),
        "is_public": checks.boolean(
            data.get("os-flavor-access:is_public", True), "os-flavor-access:is_public"
        ),
        "description": description(data.get("description")),
    }
    return values


async def create(
    svc: ComputeService, ctx: RequestContext, body: dict[str, Any], mv: Version
) -> FlavorRecord:
    """POST /flavors (admin): 409 when the name or the id is taken."""
    access.require_admin(ctx, "os_compute_api:os-flavor-manage:create")
    values = parse_create(body, mv)

    async def _create(s: AsyncSession) -> m.Flavor:
        await _check_free(s, values["flavorid"], values["name"])
        now = m.now()
        flavor = m.Flavor(created_at=now, disabled=False, **values)
        # Like Nova, the creating project gets no access to a private flavor by itself.
        s.add(flavor)
        await s.flush()
        return flavor

    try:
        flavor = await svc.tx(_create)
    except IntegrityError:
        # Lost a race with a concurrent create: say which of name and id the winner took.
        async with svc.db.session() as s:
            await _check_free(s, values["flavorid"], values["name"])
        raise errors.Conflict(f"Flavor with name {values['name']} already exists.") from None
    return FlavorRecord(flavor)


async def _check_free(s: AsyncSession, flavor_id: str, name: str) -> None:
    if await s.scalar(select(m.Flavor.id).where(m.Flavor.name == name)) is not None:
        raise errors.Conflict(f"Flavor with name {name} already exists.")
    if await s.scalar(select(m.Flavor.id).where(m.Flavor.flavorid == flavor_id)) is not None:
        raise errors.Conflict(f"Flavor with ID {flavor_id} already exists.")


async def update(
    svc: ComputeService, ctx: RequestContext, flavor_id: str, body: dict[str, Any]
) -> FlavorRecord:
    """PUT /flavors/{id} (2.55, admin): only the description changes."""
    access.require_admin(ctx, "os_compute_api:os-flavor-manage:update")
    data = checks.obj(body.get("flavor"), "flavor")
    checks.only(body, ("flavor",), "body")
    checks.only(data, ("description",), "flavor")
    checks.required(data, ("description",), "flavor")
    text = description(data["description"])

    async def _update(s: AsyncSession) -> FlavorRecord:
        flavor = await load(s, ctx, flavor_id)
        flavor.description = text
        flavor.updated_at = m.now()
        await s.flush()
        return (await records(s, [flavor]))[0]

    return await svc.tx(_update)


async def delete_flavor(svc: ComputeService, ctx: RequestContext, flavor_id: str) -> None:
    """DELETE /flavors/{id} (admin); servers keep their copy of it."""
    access.require_admin(ctx, "os_compute_api:os-flavor-manage:delete")

    async def _delete(s: AsyncSession) -> None:
        flavor = await load(s, ctx, flavor_id)
        # Children first: SQLite enforces the cascade only when asked to, PostgreSQL always.
        await s.execute(delete(m.FlavorExtraSpec).where(m.FlavorExtraSpec.flavor_id == flavor.id))
        await s.execute(delete(m.FlavorProject).where(m.FlavorProject.flavor_id == flavor.id))
        await s.delete(flavor)

    await svc.tx(_delete)


async def _ensure_flavor(svc: ComputeService, spec: tuple[str, str, int, int, int]) -> None:
    flavorid, name, ram, vcpus, disk = spec

    async def _ensure(s: AsyncSession) -> None:
        taken = await s.scalar(
            select(func.count(m.Flavor.id)).where(
                (m.Flavor.flavorid == flavorid) | (m.Flavor.name == name)
            )
        )
        if taken:
            return
        s.add(
            m.Flavor(
                flavorid=flavorid, name=name, memory_mb=ram, vcpus=vcpus, root_gb=disk,
                ephemeral_gb=0, swap=0, rxtx_factor=1.0, is_public=True, disabled=False,
                created_at=m.now(),
            )
        )  # fmt: skip

    try:
        await svc.tx(_ensure)
    except IntegrityError:
        LOG.debug("default flavor %s was created by another process", name)


async def ensure_default_flavors(svc: ComputeService) -> None:
    """Create the default flavors that are missing; safe when several processes start at once."""
    for spec in DEFAULT_FLAVORS:
        await _ensure_flavor(svc, spec)
