"""The JSON Neutron clients expect for each resource, without what policy hides from the caller."""

from __future__ import annotations

from typing import Any

from stackling.common.context import RequestContext
from stackling.common.timeutil import isoformat
from stackling.network import models as m
from stackling.network import policy
from stackling.network.service.floating_ips import FloatingIPRecord
from stackling.network.service.routers import RouterRecord
from stackling.settings import NetworkSettings


def _standard(row: m.StandardAttrs, *, tagged: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": row.description,
        "created_at": isoformat(row.created_at, micro=False),
        "updated_at": isoformat(row.updated_at, micro=False),
        "revision_number": row.revision_number,
    }
    if tagged:
        out["tags"] = [t.tag for t in row.tags]
    return out


def _owner(project_id: str) -> dict[str, str]:
    return {"project_id": project_id, "tenant_id": project_id}


def _hide(ctx: RequestContext, action: str, item: dict[str, Any]) -> dict[str, Any]:
    """Drop the attributes the caller may not read (binding:host_id, provider:*...)."""
    return {key: value for key, value in item.items() if policy.readable(ctx, action, key)}


def network(row: m.Network, ctx: RequestContext, conf: NetworkSettings) -> dict[str, Any]:
    """A network."""
    segment = row.segments[0] if row.segments else None
    zones = row.availability_zone_hints or conf.availability_zones
    item = {
        "id": row.id,
        "name": row.name,
        **_owner(row.project_id),
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "subnets": [subnet.id for subnet in row.subnets],
        "shared": row.shared,
        "router:external": row.external,
        "mtu": row.mtu,
        "port_security_enabled": row.port_security_enabled,
        "availability_zone_hints": list(row.availability_zone_hints),
        "availability_zones": list(zones),
        "provider:network_type": segment.network_type if segment else None,
        "provider:physical_network": segment.physical_network if segment else None,
        "provider:segmentation_id": segment.segmentation_id if segment else None,
        **_standard(row),
    }
    if row.external:
        # As Neutron, only an external network shows whether it is the default one.
        item["is_default"] = row.is_default
    return _hide(ctx, "get_network", item)


def subnet(row: m.Subnet, ctx: RequestContext, conf: NetworkSettings) -> dict[str, Any]:
    """A subnet."""
    return {
        "id": row.id,
        "name": row.name,
        **_owner(row.project_id),
        "network_id": row.network_id,
        "ip_version": row.ip_version,
        "subnetpool_id": row.subnetpool_id,
        "cidr": row.cidr,
        "gateway_ip": row.gateway_ip,
        "allocation_pools": [{"start": p.first_ip, "end": p.last_ip} for p in row.allocation_pools],
        "dns_nameservers": [d.address for d in row.dns_nameservers],
        "host_routes": [
            {"destination": r.destination, "nexthop": r.nexthop} for r in row.host_routes
        ],
        "enable_dhcp": row.enable_dhcp,
        "ipv6_ra_mode": row.ipv6_ra_mode,
        "ipv6_address_mode": row.ipv6_address_mode,
        **_standard(row),
    }


def subnetpool(row: m.SubnetPool, ctx: RequestContext, conf: NetworkSettings) -> dict[str, Any]:
    """A subnet pool."""
    return {
        "id": row.id,
        "name": row.name,
        **_owner(row.project_id),
        "ip_version": row.ip_version,
        "prefixes": [p.cidr for p in row.prefixes],
        "default_prefixlen": row.default_prefixlen,
        "min_prefixlen": row.min_prefixlen,
        "max_prefixlen": row.max_prefixlen,
        "default_quota": row.default_quota,
        "shared": row.shared,
        "is_default": row.is_default,
        "address_scope_id": row.address_scope_id,
        **_standard(row),
    }


def port(row: m.Port, ctx: RequestContext, conf: NetworkSettings) -> dict[str, Any]:
    """A port."""
    item = {
        "id": row.id,
        "name": row.name,
        **_owner(row.project_id),
        "network_id": row.network_id,
        "mac_address": row.mac_address,
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "device_id": row.device_id,
        "device_owner": row.device_owner,
        "fixed_ips": [
            {"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in row.fixed_ips
        ],
        "security_groups": [b.security_group_id for b in row.security_group_bindings],
        "port_security_enabled": row.port_security_enabled,
        "allowed_address_pairs": [
            {"ip_address": p.ip_address, "mac_address": p.mac_address}
            for p in row.allowed_address_pairs
        ],
        "extra_dhcp_opts": [
            {"opt_name": o.opt_name, "opt_value": o.opt_value, "ip_version": o.ip_version}
            for o in row.extra_dhcp_opts
        ],
        "binding:host_id": row.binding_host_id,
        "binding:profile": row.binding_profile,
        "binding:vif_type": row.binding_vif_type,
        "binding:vif_details": row.binding_vif_details,
        "binding:vnic_type": row.binding_vnic_type,
        **_standard(row),
    }
    return _hide(ctx, "get_port", item)


def security_group_rule(
    row: m.SecurityGroupRule, ctx: RequestContext, conf: NetworkSettings
) -> dict[str, Any]:
    """A security group rule."""
    return {
        "id": row.id,
        **_owner(row.project_id),
        "security_group_id": row.security_group_id,
        "direction": row.direction,
        "ethertype": row.ethertype,
        "protocol": row.protocol,
        "port_range_min": row.port_range_min,
        "port_range_max": row.port_range_max,
        "remote_ip_prefix": row.remote_ip_prefix,
        "remote_group_id": row.remote_group_id,
        **_standard(row, tagged=False),
    }


def security_group(
    row: m.SecurityGroup, ctx: RequestContext, conf: NetworkSettings
) -> dict[str, Any]:
    """A security group with its rules."""
    return {
        "id": row.id,
        "name": row.name,
        **_owner(row.project_id),
        "stateful": row.stateful,
        "security_group_rules": [security_group_rule(r, ctx, conf) for r in row.rules],
        **_standard(row),
    }


def router(record: RouterRecord, ctx: RequestContext, conf: NetworkSettings) -> dict[str, Any]:
    """A router, its gateway (null when it has none) and its extra routes."""
    row = record.row
    gateway = None
    if row.gw_network_id is not None:
        gateway = {
            "network_id": row.gw_network_id,
            "enable_snat": row.enable_snat,
            "external_fixed_ips": [
                {"subnet_id": subnet_id, "ip_address": address}
                for subnet_id, address in record.gateway_ips
            ],
        }
    return {
        "id": row.id,
        "name": row.name,
        **_owner(row.project_id),
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "external_gateway_info": gateway,
        "routes": [{"destination": r.destination, "nexthop": r.nexthop} for r in row.routes],
        **_standard(row),
    }


def floatingip(
    record: FloatingIPRecord, ctx: RequestContext, conf: NetworkSettings
) -> dict[str, Any]:
    """A floating IP, with the port it maps to (fip-port-details)."""
    row, mapped = record.row, record.port
    details = None
    if mapped is not None:
        details = {
            "name": mapped.name,
            "network_id": mapped.network_id,
            "mac_address": mapped.mac_address,
            "admin_state_up": mapped.admin_state_up,
            "status": mapped.status,
            "device_id": mapped.device_id,
            "device_owner": mapped.device_owner,
        }
    return {
        "id": row.id,
        **_owner(row.project_id),
        "floating_network_id": row.floating_network_id,
        "floating_ip_address": row.floating_ip_address,
        "router_id": row.router_id,
        "port_id": row.fixed_port_id,
        "fixed_ip_address": row.fixed_ip_address,
        "status": row.status,
        "port_details": details,
        **_standard(row),
    }


def _agent_time(value: Any) -> str | None:
    # Neutron shows agent times as "YYYY-MM-DD hh:mm:ss", unlike its other timestamps.
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def agent(row: m.Agent, ctx: RequestContext, conf: NetworkSettings) -> dict[str, Any]:
    """A data-plane agent, alive when its heartbeat is recent."""
    from stackling.network.service.agents import is_alive

    return {
        "id": row.id,
        "agent_type": row.agent_type,
        "binary": row.binary,
        "topic": row.topic,
        "host": row.host,
        "admin_state_up": row.admin_state_up,
        "alive": is_alive(row),
        "availability_zone": row.availability_zone,
        "description": row.description,
        "configurations": dict(row.configurations or {}),
        "resources_synced": row.resources_synced,
        "created_at": _agent_time(row.created_at),
        "started_at": _agent_time(row.started_at),
        "heartbeat_timestamp": _agent_time(row.heartbeat_timestamp),
    }
