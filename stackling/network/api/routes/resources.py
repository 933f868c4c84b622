"""Every Neutron resource (core, security groups, L3), each declared once and served by `crud`."""

from __future__ import annotations

from fastapi import APIRouter

from stackling.network.api import views
from stackling.network.api.routes.crud import Resource, build
from stackling.network.api.specs.agents import AGENT
from stackling.network.api.specs.floating_ips import FLOATINGIP
from stackling.network.api.specs.networks import NETWORK
from stackling.network.api.specs.ports import PORT
from stackling.network.api.specs.routers import ROUTER
from stackling.network.api.specs.security_groups import SECURITY_GROUP, SECURITY_GROUP_RULE
from stackling.network.api.specs.subnets import SUBNET, SUBNETPOOL
from stackling.network.service import (
    agents,
    floating_ips,
    networks,
    ports,
    routers,
    security_groups,
    subnetpools,
    subnets,
)

RESOURCES: tuple[Resource, ...] = (
    Resource(
        NETWORK, views.network, networks.list_networks, networks.show_network,
        networks.create_network, networks.delete_network, networks.update_network,
    ),
    Resource(
        SUBNET, views.subnet, subnets.list_subnets, subnets.show_subnet,
        subnets.create_subnet, subnets.delete_subnet, subnets.update_subnet,
    ),
    Resource(
        SUBNETPOOL, views.subnetpool, subnetpools.list_subnetpools, subnetpools.show_subnetpool,
        subnetpools.create_subnetpool, subnetpools.delete_subnetpool,
        subnetpools.update_subnetpool,
    ),
    Resource(
        PORT, views.port, ports.list_ports, ports.show_port,
        ports.create_port, ports.delete_port, ports.update_port,
    ),
    Resource(
        SECURITY_GROUP, views.security_group, security_groups.list_groups,
        security_groups.show_group, security_groups.create_group,
        security_groups.delete_group, security_groups.update_group,
    ),
    Resource(
        SECURITY_GROUP_RULE, views.security_group_rule, security_groups.list_rules,
        security_groups.show_rule, security_groups.create_rule, security_groups.delete_rule,
    ),
    Resource(
        ROUTER, views.router, routers.list_routers, routers.show_router,
        routers.create_router, routers.delete_router, routers.update_router,
    ),
    Resource(
        FLOATINGIP, views.floatingip, floating_ips.list_floatingips,
        floating_ips.show_floatingip, floating_ips.create_floatingip,
        floating_ips.delete_floatingip, floating_ips.update_floatingip,
    ),
    Resource(
        AGENT, views.agent, agents.list_agents, agents.show_agent, agents.create_agent,
        agents.delete_agent, agents.update_agent, bulk=False,
    ),
)  # fmt: skip


def router() -> APIRouter:
    """Every declared resource's routes."""
    out = APIRouter()
    for resource in RESOURCES:
        out.include_router(build(resource))
    return out
