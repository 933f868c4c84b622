"""Authentication: the password, token and application_credential methods, and scoping."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.common import errors
from stackling.common.timeutil import utcnow
from stackling.identity import models as m
from stackling.identity import passwords
from stackling.identity.revocation import Event
from stackling.identity.service.assignments import SYSTEM, Target, effective_role_ids
from stackling.identity.service.core import Identity
from stackling.identity.service.roles import expand_implied, inference_map
from stackling.identity.service.trusts import redelegation_chain
from stackling.identity.tokens import Ref, TokenData, new_audit_id

NO_AUTH = "The request you have made requires authentication."


def _unauthorized(detail: str = NO_AUTH) -> errors.Unauthorized:
    return errors.Unauthorized(detail)


# -- lookups -----------------------------------------------------------------


async def _domain_by(s: AsyncSession, ref: dict[str, Any], what: str) -> m.Project:
    if not isinstance(ref, dict) or not (ref.get("id") or ref.get("name")):
        raise errors.BadRequest(f"{what} requires a domain id or name.")
    if ref.get("id"):
        row = await s.get(m.Project, ref["id"])
    else:
        row = await s.scalar(
            select(m.Project).where(
                m.Project.name == ref["name"], m.Project.domain_id == m.ROOT_DOMAIN
            )
        )
    if row is None or not row.is_domain:
        raise _unauthorized(f"Could not find domain: {ref.get('id') or ref.get('name')}.")
    return row


async def _user_by(s: AsyncSession, ref: dict[str, Any]) -> m.User:
    if not isinstance(ref, dict):
        raise errors.BadRequest("Invalid user reference.")
    if ref.get("id"):
        row = await s.get(m.User, ref["id"])
    elif ref.get("name"):
        domain = await _domain_by(s, ref.get("domain") or {}, "A user name")
        row = await s.scalar(
            select(m.User).where(m.User.name == ref["name"], m.User.domain_id == domain.id)
        )
    else:
        raise errors.BadRequest("A user requires an id, or a name and a domain.")
    if row is None:
        raise _unauthorized()
    return row


async def _check_user_usable(s: AsyncSession, user: m.User) -> m.Project:
    domain = await s.get(m.Project, user.domain_id)
    if not user.enabled:
        raise _unauthorized(f"User {user.id} is disabled.")
    if domain is None or not domain.enabled:
        raise _unauthorized(f"Domain {user.domain_id} is disabled.")
    return domain


# -- methods -----------------------------------------------------------------


class _Identity:
    """Outcome of the identity methods: who, and what narrows their scope."""

    def __init__(self, user: m.User, domain: m.Project, methods: list[str]) -> None:
        self.user = user
        self.domain = domain
        self.methods = methods
        self.expires_at: float | None = None
        self.audit_chain: str | None = None
        self.app_cred: m.ApplicationCredential | None = None
        self.app_cred_roles: set[str] | None = None
        self.app_cred_rules: list[dict[str, str]] | None = None
        self.parent: TokenData | None = None


async def _password(idn: Identity, s: AsyncSession, body: dict[str, Any]) -> _Identity:
    user_ref = body.get("user") if isinstance(body, dict) else None
    if not isinstance(user_ref, dict) or "password" not in user_ref:
        raise errors.BadRequest("password auth requires a user and a password.")
    user = await _user_by(s, user_ref)
    secret = user_ref["password"]
    if not isinstance(secret, str) or not await idn.verify_password(user, secret):
        raise _unauthorized()
    domain = await _check_user_usable(s, user)
    return _Identity(user, domain, ["password"])


async def _token(idn: Identity, s: AsyncSession, body: dict[str, Any]) -> _Identity:
    token_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(token_id, str):
        raise errors.BadRequest("token auth requires a token id.")
    try:
        parent = idn.token_codec.decode(token_id)
    except errors.NotFound as exc:
        raise _unauthorized() from exc
    if idn.revocations.is_revoked(parent):
        raise _unauthorized()
    if parent.app_cred is not None:
        raise errors.Forbidden("Cannot rescope a token issued with an application credential.")
    if parent.trust is not None:
        raise errors.Forbidden("Cannot rescope a trust-scoped token.")
    user = await s.get(m.User, parent.user.id)
    if user is None:
        raise _unauthorized()
    domain = await _check_user_usable(s, user)
    ident = _Identity(user, domain, sorted({*parent.methods, "token"}))
    ident.expires_at = parent.expires_at
    ident.audit_chain = parent.audit_ids[-1]
    ident.parent = parent
    return ident


async def _app_cred(idn: Identity, s: AsyncSession, body: dict[str, Any]) -> _Identity:
    if not isinstance(body, dict) or not isinstance(body.get("secret"), str):
        raise errors.BadRequest("application_credential auth requires a secret.")
    if any(body.get(k) is not None and not isinstance(body[k], str) for k in ("id", "name")):
        raise errors.BadRequest("An application credential id and name must be strings.")
    if body.get("id"):
        cred = await s.get(m.ApplicationCredential, body["id"])
    elif body.get("name") and body.get("user"):
        owner = await _user_by(s, body["user"])
        cred = await s.scalar(
            select(m.ApplicationCredential).where(
                m.ApplicationCredential.name == body["name"],
                m.ApplicationCredential.user_id == owner.id,
            )
        )
    else:
        raise errors.BadRequest("application_credential auth requires an id, or a name and a user.")
    if cred is None or not await passwords.verify_password(body["secret"], cred.secret_hash):
        raise _unauthorized()
    if cred.expires_at is not None and cred.expires_at <= utcnow():
        raise _unauthorized("The application credential has expired.")
    user = await s.get(m.User, cred.user_id)
    if user is None:
        raise _unauthorized()
    domain = await _check_user_usable(s, user)
    ident = _Identity(user, domain, ["application_credential"])
    ident.app_cred = cred
    ident.app_cred_roles = set(
        (
            await s.scalars(
                select(m.ApplicationCredentialRole.role_id).where(
                    m.ApplicationCredentialRole.application_credential_id == cred.id
                )
            )
        ).all()
    )
    rules = (
        await s.scalars(
            select(m.AccessRule)
            .join(
                m.ApplicationCredentialAccessRule,
                m.ApplicationCredentialAccessRule.access_rule_id == m.AccessRule.id,
            )
            .where(m.ApplicationCredentialAccessRule.application_credential_id == cred.id)
        )
    ).all()
    ident.app_cred_rules = [
        {"id": r.id, "service": r.service, "path": r.path, "method": r.method} for r in rules
    ] or None
    return ident


_METHODS = {"password": _password, "token": _token, "application_credential": _app_cred}


# -- scope ---------------------------------------------------------------------


async def _role_refs(s: AsyncSession, ids: set[str]) -> list[Ref]:
    if not ids:
        return []
    rows = (await s.execute(select(m.Role.id, m.Role.name).where(m.Role.id.in_(ids)))).all()
    return sorted((Ref(rid, name) for rid, name in rows), key=lambda r: r.name)


async def _scope_project(s: AsyncSession, ref: dict[str, Any]) -> m.Project:
    if not isinstance(ref, dict):
        raise errors.BadRequest("Invalid project scope.")
    if ref.get("id"):
        row = await s.get(m.Project, ref["id"])
    elif ref.get("name"):
        domain = await _domain_by(s, ref.get("domain") or {}, "A project name")
        row = await s.scalar(
            select(m.Project).where(m.Project.name == ref["name"], m.Project.domain_id == domain.id)
        )
    else:
        raise errors.BadRequest("A project scope requires an id, or a name and a domain.")
    if row is None:
        raise _unauthorized(f"Could not find project: {ref.get('id') or ref.get('name')}.")
    return row


async def _build(idn: Identity, s: AsyncSession, ident: _Identity, scope: Any) -> TokenData:
    now = time.time()
    user = ident.user
    expires = now + idn.settings.identity.token_expiration_s
    if ident.expires_at is not None:
        expires = min(expires, ident.expires_at)
    if ident.app_cred is not None and ident.app_cred.expires_at is not None:
        expires = min(expires, ident.app_cred.expires_at.timestamp())
    audit_ids = [new_audit_id()]
    if ident.audit_chain:
        audit_ids.append(ident.audit_chain)
    tok = TokenData(
        user=Ref(user.id, user.name),
        user_domain=Ref(ident.domain.id, ident.domain.name),
        methods=ident.methods,
        issued_at=now,
        expires_at=expires,
        audit_ids=audit_ids,
    )
    if ident.app_cred is not None:
        cred = ident.app_cred
        tok.app_cred = {"id": cred.id, "name": cred.name, "restricted": not cred.unrestricted}
        if ident.app_cred_rules:
            tok.app_cred["access_rules"] = ident.app_cred_rules
        if scope not in (None, "unscoped") and not _same_project(scope, cred.project_id):
            raise _unauthorized("An application credential token cannot be rescoped.")
        scope = {"project": {"id": cred.project_id}} if cred.project_id else scope
    if (
        scope in (None, "unscoped")
        and ident.parent is not None
        and ident.parent.scope != "unscoped"
    ):
        raise errors.Forbidden("A scoped token cannot be rescoped to unscoped.")
    if scope is None and user.default_project_id and ident.parent is None:
        project = await s.get(m.Project, user.default_project_id)
        if (
            project is not None
            and project.enabled
            and await effective_role_ids(s, user.id, Target("project", project.id))
        ):
            scope = {"project": {"id": project.id}}
    if scope in (None, "unscoped"):
        return tok
    if not isinstance(scope, dict) or len(scope) != 1:
        raise errors.BadRequest("Specify exactly one of project, domain, system or trust scope.")
    ((kind, ref),) = scope.items()
    if kind == "project":
        project = await _scope_project(s, ref)
        await _scope_target_enabled(s, project)
        role_ids = await effective_role_ids(s, user.id, Target("project", project.id))
        domain_id = project.id if project.is_domain else project.domain_id
        domain = await s.get(m.Project, domain_id)
        tok.project = Ref(project.id, project.name)
        tok.project_domain = Ref(domain_id, domain.name if domain else "")
        tok.is_domain_project = project.is_domain
    elif kind == "domain":
        domain = await _domain_by(s, ref, "A domain scope")
        if not domain.enabled:
            raise _unauthorized(f"Domain {domain.id} is disabled.")
        role_ids = await effective_role_ids(s, user.id, Target("domain", domain.id))
        tok.domain = Ref(domain.id, domain.name)
    elif kind == "system":
        if not isinstance(ref, dict) or ref.get("all") is not True:
            raise errors.BadRequest("System scope must be {'all': true}.")
        role_ids = await effective_role_ids(s, user.id, Target("system", SYSTEM))
        tok.system = True
    elif kind == "OS-TRUST:trust":
        return await _trust_scope(idn, s, tok, ident, ref)
    else:
        raise errors.BadRequest(f"Unknown scope {kind}.")
    if ident.app_cred_roles is not None:
        role_ids &= expand_implied(ident.app_cred_roles, await inference_map(s))
    if not role_ids:
        what = tok.project.id if tok.project else tok.domain.id if tok.domain else "system"
        raise _unauthorized(f"User {user.id} has no access to {kind} {what}.")
    tok.roles = await _role_refs(s, role_ids)
    return tok


def _same_project(scope: Any, project_id: str | None) -> bool:
    if not isinstance(scope, dict) or set(scope) != {"project"}:
        return False
    ref = scope["project"]
    return isinstance(ref, dict) and ref.get("id") == project_id


async def _scope_target_enabled(s: AsyncSession, project: m.Project) -> None:
    if not project.enabled:
        raise _unauthorized(f"Project {project.id} is disabled.")
    if not project.is_domain:
        domain = await s.get(m.Project, project.domain_id)
        if domain is None or not domain.enabled:
            raise _unauthorized(f"Domain {project.domain_id} is disabled.")


async def _trust_scope(
    idn: Identity, s: AsyncSession, tok: TokenData, ident: _Identity, ref: Any
) -> TokenData:
    if not isinstance(ref, dict) or not isinstance(ref.get("id"), str) or not ref["id"]:
        raise errors.BadRequest("A trust scope requires a trust id.")
    if ident.app_cred is not None:
        raise errors.Forbidden("Application credentials cannot use trusts.")
    trust = await s.get(m.Trust, ref["id"])
    if trust is None or trust.deleted_at is not None:
        raise _unauthorized(f"Could not find trust: {ref['id']}.")
    if trust.trustee_user_id != ident.user.id:
        raise errors.Forbidden("The user is not the trustee of this trust.")
    if trust.expires_at is not None and trust.expires_at <= utcnow():
        raise _unauthorized(f"Trust {trust.id} has expired.")
    if trust.remaining_uses is not None:
        # Compare-and-set: two concurrent logins cannot both spend the last use.
        spent = await s.execute(
            update(m.Trust)
            .where(m.Trust.id == trust.id, m.Trust.remaining_uses > 0)
            .values(remaining_uses=m.Trust.remaining_uses - 1)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            raise _unauthorized(f"Trust {trust.id} has no remaining uses.")
    trustor = await s.get(m.User, trust.trustor_user_id)
    if trustor is None:
        raise _unauthorized("The trustor is disabled or gone.")
    trustor_domain = await _check_user_usable(s, trustor)
    # Roles are checked against the trustor at the root of a redelegation chain.
    chain = await redelegation_chain(s, trust)
    original_trustor = chain[-1].trustor_user_id
    delegated = set(
        (await s.scalars(select(m.TrustRole.role_id).where(m.TrustRole.trust_id == trust.id))).all()
    )
    roles = expand_implied(delegated, await inference_map(s))
    if trust.project_id:
        project = await s.get(m.Project, trust.project_id)
        if project is None:
            raise _unauthorized(f"Could not find project: {trust.project_id}.")
        await _scope_target_enabled(s, project)
        held = await effective_role_ids(s, original_trustor, Target("project", project.id))
        if not delegated <= held:
            raise errors.Forbidden("The trustor no longer holds the delegated roles.")
        roles &= held
        domain = await s.get(m.Project, project.domain_id)
        tok.project = Ref(project.id, project.name)
        tok.project_domain = Ref(project.domain_id, domain.name if domain else "")
    if trust.impersonation:
        tok.user = Ref(trustor.id, trustor.name)
        tok.user_domain = Ref(trustor_domain.id, trustor_domain.name)
    if trust.expires_at is not None:
        tok.expires_at = min(tok.expires_at, trust.expires_at.timestamp())
    tok.roles = await _role_refs(s, roles)
    tok.trust = {
        "id": trust.id,
        "trustor": trust.trustor_user_id,
        "trustee": trust.trustee_user_id,
        "impersonation": trust.impersonation,
    }
    return tok


# -- public ------------------------------------------------------------------


async def issue_token(idn: Identity, auth: dict[str, Any]) -> tuple[str, TokenData]:
    """Authenticate the `auth` object of POST /v3/auth/tokens and issue a token."""
    identity = auth.get("identity")
    if not isinstance(identity, dict):
        raise errors.BadRequest("'identity' is a required property.")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(x, str) for x in methods):
        raise errors.BadRequest("'methods' must be a non-empty list of strings.")
    unknown = [x for x in methods if x not in _METHODS]
    if unknown:
        raise _unauthorized(f"Attempted to authenticate with an unsupported method: {unknown[0]}.")
    scope = auth.get("scope")
    if scope is not None and scope != "unscoped" and not isinstance(scope, dict):
        raise errors.BadRequest("Invalid scope.")

    async def _do(s: AsyncSession) -> TokenData:
        ident: _Identity | None = None
        for method in methods:
            if method not in identity:
                raise errors.BadRequest(f"Missing '{method}' in identity.")
            found = await _METHODS[method](idn, s, identity[method])
            if ident is not None and found.user.id != ident.user.id:
                raise _unauthorized("Methods authenticated different users.")
            ident = found if ident is None else ident
        assert ident is not None
        return await _build(idn, s, ident, scope)

    # Only trust-scoped tokens write (remaining uses); the rest read.
    if isinstance(scope, dict) and "OS-TRUST:trust" in scope:
        tok = await idn.tx(_do)
    else:
        async with idn.db.session() as s:
            tok = await _do(s)
    return idn.token_codec.encode(tok), tok


def validate(idn: Identity, token: str, *, allow_expired: bool = False) -> TokenData:
    """Decode and check revocation: no database read. NotFound when not valid."""
    window = idn.settings.identity.allow_expired_window_s if allow_expired else 0
    tok = idn.token_codec.decode(token, allow_expired_s=window)
    if idn.revocations.is_revoked(tok):
        raise errors.NotFound("Failed to validate token")
    return tok


async def revoke_token(idn: Identity, token: str) -> None:
    """Revoke one token by its audit id."""
    tok = validate(idn, token)
    await idn.revoke([Event("audit", tok.audit_ids[0], time.time())])
