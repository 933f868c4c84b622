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
        "volume_extension:volume_actions:upload_image": any_of(admin, project_member),
        "volume_extension:volume_actions:upload_public": admin,
        "volume_extension:volume_image_metadata:show": any_of(admin, project_reader),
        "volume_extension:volume_image_metadata:set": any_of(admin, project_member),
        "volume_extension:volume_image_metadata:remove": any_of(admin, project_member),
        "volume:create_snapshot": any_of(admin, project_member),
        "volume:get_snapshot": any_of(admin, project_reader),
        "volume:get_all_snapshots": any_of(admin, project_reader),
        "volume:update_snapshot": any_of(admin, project_member),
        "volume:delete_snapshot": any_of(admin, project_member),
        "volume:get_snapshot_metadata": any_of(admin, project_reader),
        "volume:update_snapshot_metadata": any_of(admin, project_member),
        "volume:delete_snapshot_metadata": any_of(admin, project_member),
        "volume:revert_to_snapshot": any_of(admin, project_member),
        "volume_extension:snapshot_admin_actions:reset_status": admin,
        "volume_extension:snapshot_admin_actions:force_delete": admin,
        "snapshot_extension:snapshot_actions:update_snapshot_status": any_of(admin, project_member),
        "volume_extension:volume_admin_actions:reset_status": admin,
        "volume_extension:volume_admin_actions:force_delete": admin,
        "volume_extension:types_manage": admin,
        "volume_extension:types_extra_specs:create": admin,
        "volume_extension:types_extra_specs:delete": admin,
        "volume_extension:quotas:show": any_of(admin, project_reader),
        "volume_extension:quotas:update": admin,
        "volume_extension:quotas:delete": admin,
        "volume:get_volume_metadata": any_of(admin, project_reader),
        "volume:update_volume_metadata": any_of(admin, project_member),
        "volume:delete_volume_metadata": any_of(admin, project_member),
        "volume:retype": any_of(admin, project_member),
        "volume_extension:volume_admin_actions:force_detach": admin,
        "scheduler_extension:scheduler_stats:get_pools": admin,
        "volume_extension:capabilities": admin,
        "volume_extension:hosts": admin,
        "volume:create_transfer": any_of(admin, project_member),
        "volume:get_transfer": any_of(admin, project_reader),
        "volume:get_all_transfers": any_of(admin, project_reader),
        "volume:accept_transfer": any_of(admin, project_member),
        "volume:delete_transfer": any_of(admin, project_member),
        "volume_extension:qos_specs_manage:create": admin,
        "volume_extension:qos_specs_manage:get": admin,
        "volume_extension:qos_specs_manage:get_all": admin,
        "volume_extension:qos_specs_manage:update": admin,
        "volume_extension:qos_specs_manage:delete": admin,
        "volume_extension:volume_type_access": admin,
        "volume_extension:volume_type_access:addProjectAccess": admin,
        "volume_extension:volume_type_access:removeProjectAccess": admin,
        "volume_extension:quota_classes": admin,
        "volume_extension:quota_classes:update": admin,
        "volume_extension:services:index": admin,
        "volume_extension:services:update": admin,
        "backup:create": any_of(admin, project_member),
        "backup:get": any_of(admin, project_reader),
        "backup:get_all": any_of(admin, project_reader),
        "backup:update": any_of(admin, project_member),
        "backup:delete": any_of(admin, project_member),
        "backup:restore": any_of(admin, project_member),
        "backup:backup-admin-actions:reset_status": admin,
        "backup:backup-admin-actions:force_delete": admin,
        "backup:backup_project_attribute": admin,
        "backup:export-import": admin,
        "backup:import-export": admin,
        "volume:attachment_create": any_of(admin, _member),
        "volume:attachment_get": any_of(admin, project_reader),
        "volume:attachment_get_all": any_of(admin, project_reader),
        "volume:attachment_update": any_of(admin, project_member),
        "volume:attachment_complete": any_of(admin, project_member),
        "volume:attachment_delete": any_of(admin, project_member),
        "volume_extension:volume_actions:reserve": any_of(admin, project_member),
        "volume_extension:volume_actions:unreserve": any_of(admin, project_member),
        "volume_extension:volume_actions:begin_detaching": any_of(admin, project_member),
        "volume_extension:volume_actions:roll_detaching": any_of(admin, project_member),
        "volume_extension:volume_actions:attach": any_of(admin, project_member),
        "volume_extension:volume_actions:detach": any_of(admin, project_member),
        "volume_extension:volume_actions:initialize_connection": any_of(admin, project_member),
        "volume_extension:volume_actions:terminate_connection": any_of(admin, project_member),
        "volume_extension:volume_actions:update_readonly_flag": any_of(admin, project_member),
        "group:group_types_manage": admin,
        "group:group_types_specs": admin,
        "group:access_group_types_specs": admin,
        "group:create": any_of(admin, _member),
        "group:get": any_of(admin, project_reader),
        "group:get_all": any_of(admin, project_reader),
        "group:update": any_of(admin, project_member),
        "group:delete": any_of(admin, project_member),
        "group:reset_status": admin,
        "group:create_group_snapshot": any_of(admin, project_member),
        "group:get_group_snapshot": any_of(admin, project_reader),
        "group:get_all_group_snapshots": any_of(admin, project_reader),
        "group:delete_group_snapshot": any_of(admin, project_member),
        "group:reset_group_snapshot_status": admin,
    }
)


def enforce(ctx: RequestContext, action: str, target: Target | None = None) -> None:
    """Forbidden in Cinder's words unless the caller may perform `action`."""
    if not RULES.check(ctx, action, target):
        raise errors.Forbidden(f"Policy doesn't allow {action} to be performed.")
