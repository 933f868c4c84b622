"""The JSON Keystone clients expect for each resource."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stackling.common.timeutil import from_epoch, isoformat
from stackling.identity import models as m
from stackling.identity.service.app_creds import AppCred
from stackling.identity.service.assignments import AssignmentEntry
from stackling.identity.service.credentials import Cred
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


def parents_as_ids(parents: list[m.Project]) -> dict[str, Any] | None:
    """Nested ids from the nearest parent up to the domain: {parent: {grandparent: None}}."""
    nested: dict[str, Any] | None = None
    for p in reversed(parents):
        nested = {p.id: nested}
    return nested


def subtree_as_ids(root_id: str, subtree: list[m.Project]) -> dict[str, Any] | None:
    """Nested ids of everything below root: {child: {grandchild: None}}."""
    children: dict[str, list[str]] = {}
    for p in subtree:
        children.setdefault(p.parent_id or "", []).append(p.id)

    def build(pid: str) -> dict[str, Any] | None:
        kids = children.get(pid)
        return {k: build(k) for k in kids} if kids else None

    return build(root_id)


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


# -- application credentials and access rules -------------------------------------------


def _naive_utc(value: dt.datetime | None) -> str | None:
    """A time as Keystone's JSON encoder prints stored naive-UTC times (no zone suffix)."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def access_rule(base: str, row: m.AccessRule) -> dict[str, Any]:
    """An access rule as listed under its user."""
    return {
        "id": row.id,
        "service": row.service,
        "path": row.path,
        "method": row.method,
        "links": {"self": f"{base}/users/{row.user_id}/access_rules/{row.id}"},
    }


def app_cred(base: str, cred: AppCred) -> dict[str, Any]:
    """An application credential; the secret only right after creation."""
    row = cred.row
    out: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "user_id": row.user_id,
        "project_id": row.project_id,
        "expires_at": _naive_utc(row.expires_at),
        "unrestricted": row.unrestricted,
        "roles": [
            {
                "id": r.id,
                "name": r.name,
                "domain_id": None if r.domain_id == m.NULL_DOMAIN else r.domain_id,
            }
            for r in cred.roles
        ],
        "access_rules": [
            {"id": r.id, "service": r.service, "path": r.path, "method": r.method}
            for r in cred.rules
        ],
        "links": {"self": f"{base}/users/{row.user_id}/application_credentials/{row.id}"},
    }
    if cred.secret is not None:
        out["secret"] = cred.secret
    return out


# -- credentials ------------------------------------------------------------------------


def credential(base: str, cred: Cred) -> dict[str, Any]:
    """A stored credential with its blob (a string, as Keystone returns it)."""
    row = cred.row
    return {
        **row.extra,
        "id": row.id,
        "user_id": row.user_id,
        "project_id": row.project_id,
        "type": row.type,
        "blob": cred.blob,
        "links": {"self": f"{base}/credentials/{row.id}"},
    }


def ec2_credential(base: str, cred: Cred) -> dict[str, Any]:
    """An OS-EC2 credential: access, secret and who it acts for."""
    data = cred.ec2()
    access = data.get("access")
    return {
        "user_id": cred.row.user_id,
        "tenant_id": cred.row.project_id,
        "access": access,
        "secret": data.get("secret"),
        "trust_id": data.get("trust_id"),
        "links": {"self": f"{base}/users/{cred.row.user_id}/credentials/OS-EC2/{access}"},
    }


# -- trusts -------------------------------------------------------------------------------


def trust(base: str, row: m.Trust, roles: list[m.Role] | None = None) -> dict[str, Any]:
    """A trust; lists leave its roles out, as Keystone does."""
    out: dict[str, Any] = {
        **row.extra,
        "id": row.id,
        "trustor_user_id": row.trustor_user_id,
        "trustee_user_id": row.trustee_user_id,
        "project_id": row.project_id,
        "impersonation": row.impersonation,
        "expires_at": isoformat(row.expires_at),
        "remaining_uses": row.remaining_uses,
        "redelegated_trust_id": row.redelegated_trust_id,
        "redelegation_count": row.redelegation_count or 0,
        "allow_redelegation": bool(row.redelegation_count),
        "links": {"self": f"{base}/OS-TRUST/trusts/{row.id}"},
    }
    if roles is not None:
        out["roles"] = [role(base, r) for r in roles]
        out["roles_links"] = {
            "self": f"{base}/OS-TRUST/trusts/{row.id}/roles",
            "previous": None,
            "next": None,
        }
    return out


# -- policies, OAuth consumers, endpoint groups ------------------------------------------


def policy(base: str, row: m.Policy) -> dict[str, Any]:
    """A stored policy blob."""
    return {
        **row.extra,
        "id": row.id,
        "type": row.type,
        "blob": row.blob,
        "links": {"self": f"{base}/policies/{row.id}"},
    }


def consumer(base: str, row: m.OAuthConsumer, secret: str | None = None) -> dict[str, Any]:
    """An OAuth consumer; the secret only right after creation."""
    out = {
        **row.extra,
        "id": row.id,
        "description": row.description,
        "links": {"self": f"{base}/OS-OAUTH1/consumers/{row.id}"},
    }
    if secret is not None:
        out["secret"] = secret
    return out


def endpoint_group(base: str, row: m.EndpointGroup) -> dict[str, Any]:
    """An endpoint group."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "filters": row.filters,
        "links": {"self": f"{base}/OS-EP-FILTER/endpoint_groups/{row.id}"},
    }


def project_endpoint_group(base: str, group_id: str, project_id: str) -> dict[str, Any]:
    """The association of an endpoint group with a project."""
    return {
        "endpoint_group_id": group_id,
        "project_id": project_id,
        "links": {"self": f"{base}/OS-EP-FILTER/endpoint_groups/{group_id}/projects/{project_id}"},
    }


# -- unified limits ---------------------------------------------------------------------


def registered_limit(base: str, row: m.Limit) -> dict[str, Any]:
    """A registered (default) limit."""
    return {
        "id": row.id,
        "service_id": row.service_id,
        "region_id": row.region_id,
        "resource_name": row.resource_name,
        "default_limit": row.limit,
        "description": row.description,
        "links": {"self": f"{base}/registered_limits/{row.id}"},
    }


def limit(base: str, row: m.Limit) -> dict[str, Any]:
    """A project or domain limit."""
    return {
        "id": row.id,
        "project_id": row.project_id,
        "domain_id": row.domain_id,
        "service_id": row.service_id,
        "region_id": row.region_id,
        "resource_name": row.resource_name,
        "resource_limit": row.limit,
        "description": row.description,
        "links": {"self": f"{base}/limits/{row.id}"},
    }
