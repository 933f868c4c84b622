"""Keystone's default policy, as data: admin manages, readers read their own scope.

An admin role in any scope is a cloud admin (Keystone without enforce_scope);
member and reader see their own project and domain, and manage only their
own password, application credentials and credentials.
"""

from __future__ import annotations

from stackling.common.context import RequestContext
from stackling.common.policy import (
    Policy,
    Rule,
    Target,
    admin,
    any_of,
    authenticated,
    domain_reader,
    owner,
    project_reader,
)


def own_domain(ctx: RequestContext, target: Target) -> bool:
    """The token's project or user sits in the target domain."""
    wanted = target.get("domain_id")
    return wanted is not None and wanted in (ctx.project_domain_id, ctx.domain_id)


def member_owner(ctx: RequestContext, target: Target) -> bool:
    """The caller acts for themselves and holds at least member."""
    return owner(ctx, target) and ctx.is_member


def trustor(ctx: RequestContext, target: Target) -> bool:
    """The caller is the trust's trustor."""
    return target.get("trustor_user_id") == ctx.user_id


def trustee(ctx: RequestContext, target: Target) -> bool:
    """The caller is the trust's trustee."""
    return target.get("trustee_user_id") == ctx.user_id


def service_role(ctx: RequestContext, target: Target) -> bool:
    """The caller is a service user."""
    return "service" in ctx.roles


ADMIN: Rule = admin
ADMIN_OR_OWNER = any_of(admin, owner)
ADMIN_OR_DOMAIN_READER = any_of(admin, domain_reader)

RULES: dict[str, Rule] = {
    # domains
    "identity:get_domain": any_of(admin, domain_reader, own_domain),
    "identity:list_domains": ADMIN,
    "identity:create_domain": ADMIN,
    "identity:update_domain": ADMIN,
    "identity:delete_domain": ADMIN,
    # projects
    "identity:get_project": any_of(admin, project_reader, domain_reader),
    "identity:list_projects": ADMIN_OR_DOMAIN_READER,
    "identity:list_user_projects": ADMIN_OR_OWNER,
    "identity:create_project": ADMIN,
    "identity:update_project": ADMIN,
    "identity:delete_project": ADMIN,
    "identity:get_project_tag": any_of(admin, project_reader, domain_reader),
    "identity:list_project_tags": any_of(admin, project_reader, domain_reader),
    "identity:create_project_tag": ADMIN,
    "identity:update_project_tags": ADMIN,
    "identity:delete_project_tag": ADMIN,
    "identity:delete_project_tags": ADMIN,
    # users and groups
    "identity:get_user": any_of(admin, owner, domain_reader),
    "identity:list_users": ADMIN_OR_DOMAIN_READER,
    "identity:create_user": ADMIN,
    "identity:update_user": ADMIN,
    "identity:delete_user": ADMIN,
    "identity:get_group": ADMIN_OR_DOMAIN_READER,
    "identity:list_groups": ADMIN_OR_DOMAIN_READER,
    "identity:list_groups_for_user": any_of(admin, owner, domain_reader),
    "identity:create_group": ADMIN,
    "identity:update_group": ADMIN,
    "identity:delete_group": ADMIN,
    "identity:list_users_in_group": ADMIN_OR_DOMAIN_READER,
    "identity:check_user_in_group": ADMIN_OR_DOMAIN_READER,
    "identity:add_user_to_group": ADMIN,
    "identity:remove_user_from_group": ADMIN,
    # roles and assignments
    "identity:get_role": ADMIN_OR_DOMAIN_READER,
    "identity:list_roles": ADMIN_OR_DOMAIN_READER,
    "identity:create_role": ADMIN,
    "identity:update_role": ADMIN,
    "identity:delete_role": ADMIN,
    "identity:get_implied_role": ADMIN,
    "identity:list_implied_roles": ADMIN,
    "identity:list_role_inference_rules": ADMIN,
    "identity:create_implied_role": ADMIN,
    "identity:delete_implied_role": ADMIN,
    "identity:check_grant": ADMIN_OR_DOMAIN_READER,
    "identity:list_grants": ADMIN_OR_DOMAIN_READER,
    "identity:create_grant": ADMIN,
    "identity:revoke_grant": ADMIN,
    "identity:list_role_assignments": any_of(admin, domain_reader, project_reader, owner),
    # catalog
    "identity:get_region": authenticated,
    "identity:list_regions": authenticated,
    "identity:create_region": ADMIN,
    "identity:update_region": ADMIN,
    "identity:delete_region": ADMIN,
    "identity:get_service": ADMIN,
    "identity:list_services": ADMIN,
    "identity:create_service": ADMIN,
    "identity:update_service": ADMIN,
    "identity:delete_service": ADMIN,
    "identity:get_endpoint": ADMIN,
    "identity:list_endpoints": ADMIN,
    "identity:create_endpoint": ADMIN,
    "identity:update_endpoint": ADMIN,
    "identity:delete_endpoint": ADMIN,
    # tokens
    "identity:validate_token": any_of(admin, service_role, owner),
    "identity:check_token": any_of(admin, service_role, owner),
    "identity:revoke_token": any_of(admin, owner),
    # self-service credentials
    "identity:get_application_credential": ADMIN_OR_OWNER,
    "identity:list_application_credentials": ADMIN_OR_OWNER,
    "identity:create_application_credential": member_owner,
    "identity:delete_application_credential": ADMIN_OR_OWNER,
    "identity:get_access_rule": ADMIN_OR_OWNER,
    "identity:list_access_rules": ADMIN_OR_OWNER,
    "identity:delete_access_rule": ADMIN_OR_OWNER,
    "identity:get_credential": ADMIN_OR_OWNER,
    "identity:list_credentials": authenticated,
    "identity:create_credential": any_of(admin, member_owner),
    "identity:update_credential": ADMIN_OR_OWNER,
    "identity:delete_credential": ADMIN_OR_OWNER,
    "identity:ec2_get_credential": ADMIN_OR_OWNER,
    "identity:ec2_list_credentials": ADMIN_OR_OWNER,
    "identity:ec2_create_credential": any_of(admin, member_owner),
    "identity:ec2_delete_credential": ADMIN_OR_OWNER,
    # trusts
    "identity:create_trust": trustor,
    "identity:list_trusts": any_of(admin, trustor, trustee),
    "identity:get_trust": any_of(admin, trustor, trustee),
    "identity:delete_trust": any_of(admin, trustor),
    "identity:list_roles_for_trust": any_of(admin, trustor, trustee),
    "identity:get_role_for_trust": any_of(admin, trustor, trustee),
    # administrative extras
    "identity:admin": ADMIN,
}

POLICY = Policy(RULES)
