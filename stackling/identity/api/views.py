"""The JSON Keystone clients expect for each resource."""

from __future__ import annotations

from typing import Any

from stackling.common.timeutil import from_epoch, isoformat
from stackling.identity import models as m
from stackling.identity.service.assignments import AssignmentEntry
from stackling.identity.tokens import TokenData


def collection(base: str, path: str, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A Keystone list body with its links."""
    return {key: items, "links": {"self": f"{base}/{path}", "previous": None, "next": None}}


def project(base: str, row: m.Project, tags: list[str]) -> dict[str, Any]:
    """A project (domains shown as projects have is_domain true)."""
    return {
        **row.extra,
        "id": row.id,
        "name": row.name,
        "domain_id": None if row.is_domain else row.domain_id,
        "parent_id": row.parent_id,
        "is_domain": row.is_domain,
        "enabled": row.enabled,
        "description": row.description,
        "tags": tags,
        "options": row.options or {},
        "links": {"self": f"{base}/projects/{row.id}"},
    }


def domain(base: str, row: m.Project, tags: list[str]) -> dict[str, Any]:
    """A domain."""
    return {
        **row.extra,
        "id": row.id,
        "name": row.name,
        "enabled": row.enabled,
        "description": row.description,
        "tags": tags,
        "options": row.options or {},
        "links": {"self": f"{base}/domains/{row.id}"},
    }


def user(base: str, row: m.User) -> dict[str, Any]:
    """A user; never its password."""
    out = {
        **row.extra,
        "id": row.id,
        "name": row.name,
        "domain_id": row.domain_id,
        "enabled": row.enabled,
        "password_expires_at": isoformat(row.password_expires_at),
        "options": row.options or {},
        "links": {"self": f"{base}/users/{row.id}"},
    }
    if row.default_project_id:
        out["default_project_id"] = row.default_project_id
    return out


def group(base: str, row: m.Group) -> dict[str, Any]:
    """A group."""
    return {
        **row.extra,
        "id": row.id,
        "name": row.name,
        "domain_id": row.domain_id,
        "description": row.description,
        "links": {"self": f"{base}/groups/{row.id}"},
    }


def role(base: str, row: m.Role) -> dict[str, Any]:
    """A role; global roles show domain_id null."""
    return {
        **row.extra,
        "id": row.id,
        "name": row.name,
        "domain_id": None if row.domain_id == m.NULL_DOMAIN else row.domain_id,
        "description": row.description,
        "options": row.options or {},
        "links": {"self": f"{base}/roles/{row.id}"},
    }


def role_ref(base: str, row: m.Role) -> dict[str, Any]:
    """The short role form used in inference rules."""
    return {"id": row.id, "name": row.name, "links": {"self": f"{base}/roles/{row.id}"}}


def inference(base: str, prior: m.Role, implied: m.Role | list[m.Role]) -> dict[str, Any]:
    """A role inference rule (one implied role, or the list of them)."""
    implies: Any = (
        [role_ref(base, r) for r in implied]
        if isinstance(implied, list)
        else role_ref(base, implied)
    )
    return {"prior_role": role_ref(base, prior), "implies": implies}


def region(base: str, row: m.Region) -> dict[str, Any]:
    """A region."""
    return {
        **row.extra,
        "id": row.id,
        "description": row.description,
        "parent_region_id": row.parent_region_id,
        "links": {"self": f"{base}/regions/{row.id}"},
    }


def service(base: str, row: m.Service) -> dict[str, Any]:
    """A catalog service."""
    return {
        **row.extra,
        "id": row.id,
        "type": row.type,
        "enabled": row.enabled,
        "links": {"self": f"{base}/services/{row.id}"},
    }


def endpoint(base: str, row: m.Endpoint) -> dict[str, Any]:
    """A catalog endpoint (region and region_id both, as Keystone answers)."""
    return {
        **row.extra,
        "id": row.id,
        "service_id": row.service_id,
        "interface": row.interface,
        "url": row.url,
        "region_id": row.region_id,
        "region": row.region_id,
        "enabled": row.enabled,
        "links": {"self": f"{base}/endpoints/{row.id}"},
    }


def assignment(base: str, e: AssignmentEntry) -> dict[str, Any]:
    """One entry of /v3/role_assignments."""
    scope: dict[str, Any]
    if e.scope_kind == "system":
        scope = {"system": {"all": True}}
    else:
        scope = {e.scope_kind: {"id": e.scope_id, **e.names.get("scope", {})}}
    if e.inherited:
        scope["OS-INHERIT:inherited_to"] = "projects"
    target = (
        f"system/{e.actor_kind}s/{e.actor_id}"
        if e.scope_kind == "system"
        else (f"{e.scope_kind}s/{e.scope_id}/{e.actor_kind}s/{e.actor_id}")
    )
    prefix = f"{base}/OS-INHERIT/" if e.inherited else f"{base}/"
    suffix = "/inherited_to_projects" if e.inherited else ""
    links: dict[str, str] = {
        "assignment": f"{prefix}{target}/roles/{e.prior_role or e.role_id}{suffix}"
    }
    if e.via_group:
        links["membership"] = f"{base}/groups/{e.via_group}/users/{e.actor_id}"
        links["assignment"] = links["assignment"].replace(
            f"users/{e.actor_id}", f"groups/{e.via_group}"
        )
    out: dict[str, Any] = {
        "role": {"id": e.role_id, **e.names.get("role", {})},
        e.actor_kind: {"id": e.actor_id, **e.names.get("actor", {})},
        "scope": scope,
        "links": links,
    }
    if e.prior_role:
        out["prior_role"] = {"id": e.prior_role}
    return out


def token(tok: TokenData, catalog: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A token as POST/GET /v3/auth/tokens return it."""
    body: dict[str, Any] = {
        "methods": tok.methods,
        "user": {
            "id": tok.user.id,
            "name": tok.user.name,
            "domain": {"id": tok.user_domain.id, "name": tok.user_domain.name},
            "password_expires_at": None,
        },
        "audit_ids": tok.audit_ids,
        "expires_at": isoformat(from_epoch(tok.expires_at)),
        "issued_at": isoformat(from_epoch(tok.issued_at)),
    }
    if tok.project is not None and tok.project_domain is not None:
        body["project"] = {
            "id": tok.project.id,
            "name": tok.project.name,
            "domain": {"id": tok.project_domain.id, "name": tok.project_domain.name},
        }
        body["is_domain"] = tok.is_domain_project
    elif tok.domain is not None:
        body["domain"] = {"id": tok.domain.id, "name": tok.domain.name}
    elif tok.system:
        body["system"] = {"all": True}
    if tok.scope != "unscoped":
        body["roles"] = [{"id": r.id, "name": r.name} for r in tok.roles]
        if catalog is not None:
            body["catalog"] = catalog
    if tok.trust is not None:
        body["OS-TRUST:trust"] = {
            "id": tok.trust["id"],
            "impersonation": tok.trust["impersonation"],
            "trustor_user": {"id": tok.trust["trustor"]},
            "trustee_user": {"id": tok.trust["trustee"]},
        }
    if tok.app_cred is not None:
        body["application_credential"] = dict(tok.app_cred)
    return {"token": body}
