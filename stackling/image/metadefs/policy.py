"""Glance's default metadefs policy (secure RBAC), as data.

Readers of a project read the public namespaces and their own project's
private ones; everything that changes the catalog is for admins only. The
target of a namespace rule is {"project_id": owner, "visibility": ...}.
"""

from __future__ import annotations

from stackling.common.context import RequestContext
from stackling.common.policy import Policy, Rule, Target, admin, any_of, project_reader


def reader_of_namespace(ctx: RequestContext, target: Target) -> bool:
    """A reader of the namespace's project, or of any project when it is public."""
    return project_reader(ctx, target) or (ctx.is_reader and target.get("visibility") == "public")


READ_NAMESPACE: Rule = any_of(admin, reader_of_namespace)
READ_CATALOG: Rule = any_of(admin, project_reader)

RULES: dict[str, Rule] = {
    "get_metadef_namespace": READ_NAMESPACE,
    "get_metadef_namespaces": READ_CATALOG,
    "add_metadef_namespace": admin,
    "modify_metadef_namespace": admin,
    "delete_metadef_namespace": admin,
    "get_metadef_object": READ_NAMESPACE,
    "get_metadef_objects": READ_NAMESPACE,
    "add_metadef_object": admin,
    "modify_metadef_object": admin,
    "delete_metadef_object": admin,
    "list_metadef_resource_types": READ_NAMESPACE,
    "get_metadef_resource_type": READ_NAMESPACE,
    "add_metadef_resource_type_association": admin,
    "remove_metadef_resource_type_association": admin,
    "get_metadef_property": READ_NAMESPACE,
    "get_metadef_properties": READ_NAMESPACE,
    "add_metadef_property": admin,
    "modify_metadef_property": admin,
    "remove_metadef_property": admin,
    "get_metadef_tag": READ_NAMESPACE,
    "get_metadef_tags": READ_NAMESPACE,
    "add_metadef_tag": admin,
    "add_metadef_tags": admin,
    "modify_metadef_tag": admin,
    "delete_metadef_tag": admin,
    "delete_metadef_tags": admin,
}

POLICY = Policy(RULES)


def caller_target(ctx: RequestContext) -> Target:
    """The target of a rule checked against no namespace: the caller's own project."""
    return {"project_id": ctx.project_id}
