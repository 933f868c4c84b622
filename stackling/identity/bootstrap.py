"""First-start bootstrap: default domain, admin, roles, region, catalog; client config files."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common.ids import new_id
from stackling.common.timeutil import utcnow
from stackling.identity import models as m
from stackling.identity import passwords
from stackling.identity.service.assignments import SYSTEM
from stackling.identity.service.core import Identity
from stackling.identity.service.resources import DEFAULT_DOMAIN_ID

LOG = logging.getLogger(__name__)

CLOUD_NAME = "stackling"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A service this process serves, as it appears in the catalog."""

    type: str
    name: str
    path: str
    description: str = ""


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def admin_password(idn: Identity) -> tuple[str, bool]:
    """The admin password: given in settings, else stored, else newly generated (and stored)."""
    stored = idn.settings.data_dir / "admin-password"
    given = idn.settings.admin_password
    if given:
        if not stored.exists() or stored.read_text().strip() != given:
            _write_private(stored, given + "\n")
        return given, True
    if stored.exists():
        return stored.read_text().strip(), False
    generated = secrets.token_urlsafe(18)
    _write_private(stored, generated + "\n")
    return generated, False


async def bootstrap(
    idn: Identity, services: list[CatalogEntry], service_roles: tuple[str, ...] = ()
) -> None:
    """Create what a new cloud needs; running it again changes nothing but stale endpoints.

    `service_roles` are roles the enabled services act on beyond Keystone's own
    (Swift's ResellerAdmin), created as devstack creates them.
    """
    password, explicit = admin_password(idn)
    settings = idn.settings
    rounds = settings.identity.password_hash_rounds

    async with idn.db.session() as s:
        admin_user = await s.scalar(
            select(m.User).where(m.User.name == "admin", m.User.domain_id == DEFAULT_DOMAIN_ID)
        )
    new_hash: str | None = None
    if admin_user is None or (
        explicit and not passwords.verify_sync(password, admin_user.password_hash)
    ):
        new_hash = await passwords.hash_password(password, rounds)

    async def _do(s: AsyncSession) -> None:
        if await s.get(m.Project, DEFAULT_DOMAIN_ID) is None:
            s.add(
                m.Project(
                    id=DEFAULT_DOMAIN_ID,
                    name="Default",
                    domain_id=m.ROOT_DOMAIN,
                    parent_id=None,
                    is_domain=True,
                    enabled=True,
                    description="The default domain",
                    options={},
                    extra={},
                )
            )
            await s.flush()
        role_ids = {}
        # Keystone's bootstrap roles since 2024.2, manager between admin and member.
        for name in ("admin", "manager", "member", "reader", "service", *service_roles):
            row = await s.scalar(
                select(m.Role).where(m.Role.name == name, m.Role.domain_id == m.NULL_DOMAIN)
            )
            if row is None:
                row = m.Role(id=new_id(), name=name, domain_id=m.NULL_DOMAIN, options={}, extra={})
                s.add(row)
                await s.flush()
            role_ids[name] = row.id
        for prior, implied in (("admin", "manager"), ("manager", "member"), ("member", "reader")):
            if await s.get(m.ImpliedRole, (role_ids[prior], role_ids[implied])) is None:
                s.add(
                    m.ImpliedRole(prior_role_id=role_ids[prior], implied_role_id=role_ids[implied])
                )
        projects = {}
        for name, description in (("admin", "Bootstrap project"), ("service", "Service users")):
            row = await s.scalar(
                select(m.Project).where(
                    m.Project.name == name, m.Project.domain_id == DEFAULT_DOMAIN_ID
                )
            )
            if row is None:
                row = m.Project(
                    id=new_id(),
                    name=name,
                    domain_id=DEFAULT_DOMAIN_ID,
                    parent_id=DEFAULT_DOMAIN_ID,
                    is_domain=False,
                    enabled=True,
                    description=description,
                    options={},
                    extra={},
                )
                s.add(row)
                await s.flush()
            projects[name] = row.id
        user = await s.scalar(
            select(m.User).where(m.User.name == "admin", m.User.domain_id == DEFAULT_DOMAIN_ID)
        )
        if user is None:
            user = m.User(
                id=new_id(),
                name="admin",
                domain_id=DEFAULT_DOMAIN_ID,
                enabled=True,
                password_hash=new_hash,
                password_created_at=utcnow(),
                default_project_id=projects["admin"],
                options={},
                extra={},
                created_at=utcnow(),
            )
            s.add(user)
            await s.flush()
        elif new_hash is not None:
            user.password_hash = new_hash
            user.password_created_at = utcnow()
        for type_, target in (("UserProject", projects["admin"]), ("UserSystem", SYSTEM)):
            key = (type_, user.id, target, role_ids["admin"], False)
            if await s.get(m.Assignment, key) is None:
                s.add(
                    m.Assignment(
                        type=type_,
                        actor_id=user.id,
                        target_id=target,
                        role_id=role_ids["admin"],
                        inherited=False,
                    )
                )
        if await s.get(m.Region, settings.region) is None:
            s.add(m.Region(id=settings.region, description="", extra={}))
        for entry in services:
            await _ensure_catalog(s, entry, settings.endpoint, settings.region)

    await idn.tx(_do)
    await idn.reload_catalog()
    write_client_config(idn, password)


async def _ensure_catalog(s: AsyncSession, entry: CatalogEntry, endpoint: str, region: str) -> None:
    svc = await s.scalar(select(m.Service).where(m.Service.type == entry.type))
    if svc is None:
        svc = m.Service(
            id=new_id(),
            type=entry.type,
            enabled=True,
            extra={"name": entry.name, "description": entry.description},
        )
        s.add(svc)
        await s.flush()
    url = endpoint + entry.path
    existing = {
        ep.interface: ep
        for ep in (await s.scalars(select(m.Endpoint).where(m.Endpoint.service_id == svc.id))).all()
    }
    for interface in ("public", "internal", "admin"):
        ep = existing.get(interface)
        if ep is None:
            s.add(
                m.Endpoint(
                    id=new_id(),
                    service_id=svc.id,
                    interface=interface,
                    url=url,
                    region_id=region,
                    enabled=True,
                    extra={},
                )
            )
        elif ep.url != url and ep.extra.get("managed", True):
            # The process moved (other port or host): keep the catalog pointing at it.
            ep.url = url


def write_client_config(idn: Identity, password: str) -> None:
    """Write clouds.yaml and openrc for the admin into the data dir (0600: they hold a secret)."""
    settings = idn.settings
    auth_url = f"{settings.endpoint}/identity/v3"
    clouds = {
        "clouds": {
            CLOUD_NAME: {
                "auth": {
                    "auth_url": auth_url,
                    "username": "admin",
                    "password": password,
                    "project_name": "admin",
                    "user_domain_name": "Default",
                    "project_domain_name": "Default",
                },
                "region_name": settings.region,
                "interface": "public",
                "identity_api_version": 3,
            }
        }
    }
    _write_private(settings.data_dir / "clouds.yaml", yaml.safe_dump(clouds, sort_keys=False))
    openrc = "\n".join(
        [
            "# Source this file to use the openstack CLI as the Stackling admin.",
            f"export OS_AUTH_URL={auth_url}",
            "export OS_IDENTITY_API_VERSION=3",
            "export OS_USERNAME=admin",
            f"export OS_PASSWORD='{password}'",
            "export OS_PROJECT_NAME=admin",
            "export OS_USER_DOMAIN_NAME=Default",
            "export OS_PROJECT_DOMAIN_NAME=Default",
            f"export OS_REGION_NAME={settings.region}",
            "",
        ]
    )
    _write_private(settings.data_dir / "openrc", openrc)
