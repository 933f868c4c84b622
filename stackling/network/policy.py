"""Neutron's default policy as data: who may act on a resource, and who may set an attribute.

A target is the resource as the rule needs to see it: its `project_id`, and
for ports and subnets `network_project_id` (the owner of their network). An
action missing from the table is refused, as with every Stackling policy.
"""

from __future__ import annotations

from stackling.common import policy as p
from stackling.common.context import RequestContext
from stackling.network import faults


def _network_owner(ctx: RequestContext, target: p.Target) -> bool:
    """A member of the project owning the target's network."""
    return (
        ctx.is_member
        and ctx.project_id is not None
        and ctx.project_id == target.get("network_project_id")
    )


def _shared(ctx: RequestContext, target: p.Target) -> bool:
    """The target's network is shared with every project."""
    return ctx.is_member and bool(target.get("network_shared"))


ADMIN = p.admin
OWNER_MEMBER = p.any_of(p.admin, p.project_member)
OWNER_READER = p.any_of(p.admin, p.project_reader)
NET_OWNER = p.any_of(p.admin, _network_owner)
NET_OWNER_OR_SHARED = p.any_of(p.admin, _network_owner, _shared)

RULES: dict[str, p.Rule] = {
    # networks
    "create_network": OWNER_MEMBER,
    "update_network": OWNER_MEMBER,
    "delete_network": OWNER_MEMBER,
    "create_network:shared": ADMIN,
    "update_network:shared": ADMIN,
    "create_network:router:external": ADMIN,
    "update_network:router:external": ADMIN,
    "create_network:is_default": ADMIN,
    "update_network:is_default": ADMIN,
    "create_network:provider:network_type": ADMIN,
    "create_network:provider:physical_network": ADMIN,
    "create_network:provider:segmentation_id": ADMIN,
    "update_network:provider:network_type": ADMIN,
    "update_network:provider:physical_network": ADMIN,
    "update_network:provider:segmentation_id": ADMIN,
    "get_network:provider:network_type": ADMIN,
    "get_network:provider:physical_network": ADMIN,
    "get_network:provider:segmentation_id": ADMIN,
    # subnets: only the network's owner adds subnets to it
    "create_subnet": NET_OWNER,
    "update_subnet": p.any_of(p.admin, _network_owner),
    "delete_subnet": p.any_of(p.admin, _network_owner),
    # subnet pools
    "create_subnetpool": OWNER_MEMBER,
    "update_subnetpool": OWNER_MEMBER,
    "delete_subnetpool": OWNER_MEMBER,
    "create_subnetpool:shared": ADMIN,
    "create_subnetpool:is_default": ADMIN,
    "update_subnetpool:is_default": ADMIN,
    # ports: any member may plug into its own or a shared network
    "create_port": p.any_of(OWNER_MEMBER, NET_OWNER_OR_SHARED),
    "update_port": p.any_of(OWNER_MEMBER, NET_OWNER),
    "delete_port": p.any_of(OWNER_MEMBER, NET_OWNER),
    "create_port:device_owner": NET_OWNER,
    "create_port:mac_address": NET_OWNER,
    "create_port:fixed_ips:ip_address": NET_OWNER,
    "create_port:fixed_ips:subnet_id": NET_OWNER_OR_SHARED,
    "create_port:port_security_enabled": NET_OWNER,
    "create_port:allowed_address_pairs": NET_OWNER,
    "update_port:device_owner": NET_OWNER,
    "update_port:mac_address": ADMIN,
    "update_port:fixed_ips:ip_address": NET_OWNER,
    "update_port:fixed_ips:subnet_id": NET_OWNER_OR_SHARED,
    "update_port:port_security_enabled": NET_OWNER,
    "update_port:allowed_address_pairs": NET_OWNER,
    "create_port:binding:host_id": ADMIN,
    "create_port:binding:profile": ADMIN,
    "update_port:binding:host_id": ADMIN,
    "update_port:binding:profile": ADMIN,
    "get_port:binding:host_id": ADMIN,
    "get_port:binding:profile": ADMIN,
    "get_port:binding:vif_type": ADMIN,
    "get_port:binding:vif_details": ADMIN,
    # security groups
    "create_security_group": OWNER_MEMBER,
    "update_security_group": OWNER_MEMBER,
    "delete_security_group": OWNER_MEMBER,
    "create_security_group_rule": OWNER_MEMBER,
    "delete_security_group_rule": OWNER_MEMBER,
    # routers (ext-gw-mode: only admins choose SNAT or the gateway's addresses)
    "create_router": OWNER_MEMBER,
    "get_agent": ADMIN,
    "update_agent": ADMIN,
    "delete_agent": ADMIN,
    "update_router": OWNER_MEMBER,
    "delete_router": OWNER_MEMBER,
    "add_router_interface": OWNER_MEMBER,
    "remove_router_interface": OWNER_MEMBER,
    "add_extraroutes": OWNER_MEMBER,
    "remove_extraroutes": OWNER_MEMBER,
    "create_router:external_gateway_info": OWNER_MEMBER,
    "create_router:external_gateway_info:network_id": OWNER_MEMBER,
    "create_router:external_gateway_info:enable_snat": ADMIN,
    "create_router:external_gateway_info:external_fixed_ips": ADMIN,
    "update_router:external_gateway_info": OWNER_MEMBER,
    "update_router:external_gateway_info:network_id": OWNER_MEMBER,
    "update_router:external_gateway_info:enable_snat": ADMIN,
    "update_router:external_gateway_info:external_fixed_ips": ADMIN,
    # floating IPs: any member takes one from an external network; admins pick the address
    "create_floatingip": OWNER_MEMBER,
    "update_floatingip": OWNER_MEMBER,
    "delete_floatingip": OWNER_MEMBER,
    "create_floatingip:floating_ip_address": ADMIN,
    # auto-allocated topologies: a project's readers get (and so make) its own one
    "get_auto_allocated_topology": OWNER_READER,
    "delete_auto_allocated_topology": OWNER_MEMBER,
    # quotas: anyone reads their own project's; admins read and change any
    "get_quota": OWNER_READER,
    "update_quota": ADMIN,
    "delete_quota": ADMIN,
}

POLICY = p.Policy(RULES)


def check(ctx: RequestContext, action: str, target: p.Target | None = None) -> bool:
    """Whether the caller may perform `action` (an action or `action:attribute`)."""
    return POLICY.check(ctx, action, target)


def enforce(ctx: RequestContext, action: str, target: p.Target | None = None) -> None:
    """PolicyNotAuthorized (403) unless the caller may perform `action`."""
    if not POLICY.check(ctx, action, target):
        raise faults.PolicyNotAuthorized(f"rule:{action}")


# Attribute rules that need no target (admin only): the API checks these up front.
STATIC = frozenset(name for name, rule in RULES.items() if rule is ADMIN)


def enforce_attributes(
    ctx: RequestContext,
    action: str,
    attributes: list[str],
    target: p.Target | None = None,
    *,
    static_only: bool = False,
) -> None:
    """403 when the caller may not set one of `attributes` (those with a rule of their own).

    With `static_only`, only rules that need no target are checked (the service
    checks the rest once it has the target). The message names the action and
    the failing attribute rule, as Neutron's does.
    """
    for name in attributes:
        rule = f"{action}:{name}"
        if rule not in RULES or (static_only and rule not in STATIC):
            continue
        if not POLICY.check(ctx, rule, target):
            raise faults.PolicyNotAuthorized(f"rule:{action} and rule:{rule}")


def readable(ctx: RequestContext, action: str, attribute: str) -> bool:
    """Whether the caller sees `attribute` in what `action` (get_port...) returns."""
    rule = f"{action}:{attribute}"
    return rule not in RULES or POLICY.check(ctx, rule, {})
