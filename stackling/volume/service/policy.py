"""Cinder's default policy, as data: who may do what to a volume, a type or a quota."""

from __future__ import annotations

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.common.policy import Policy, Target, admin, any_of, project_member, project_reader


def _member(ctx: RequestContext, target: Target) -> bool:
    """A member (or more) of a project, for creates (the target is the caller's project)."""
    return ctx.is_member and ctx.project_id is not None


RULES = Policy(
    {
        "volume:create": any_of(admin, _member),
        "volume:get": any_of(admin, project_reader),
        "volume:update": any_of(admin, project_member),
        "volume:delete": any_of(admin, project_member),
        "volume:extend": any_of(admin, project_member),
        "volume_extension:volume_actions:set_bootable": any_of(admin, project_member),
        "volume_extension:volume_admin_actions:reset_status": admin,
        "volume_extension:volume_admin_actions:force_delete": admin,
        "volume_extension:types_manage": admin,
        "volume_extension:types_extra_specs:create": admin,
        "volume_extension:types_extra_specs:delete": admin,
        "volume_extension:quotas:show": any_of(admin, project_reader),
        "volume_extension:quotas:update": admin,
        "volume_extension:quotas:delete": admin,
        "scheduler_extension:scheduler_stats:get_pools": admin,
        "volume_extension:capabilities": admin,
        "volume_extension:hosts": admin,
    }
)


def enforce(ctx: RequestContext, action: str, target: Target | None = None) -> None:
    """Forbidden in Cinder's words unless the caller may perform `action`."""
    if not RULES.check(ctx, action, target):
        raise errors.Forbidden(f"Policy doesn't allow {action} to be performed.")
