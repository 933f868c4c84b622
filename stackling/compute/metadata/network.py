"""network_data.json and the EC2 addresses, from the instance's VIFs.

Same rules as Nova's libvirt driver: one link per VIF that has an address, one
network for the first IPv4 and the first IPv6 address of each VIF, and a
DHCP-configured network named only by its type (the guest asks DHCP for the rest).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from stackling.compute.metadata.source import FixedIp, InstanceMetadataSource, VifInfo

# Neutron VIF types Nova shows as they are; any other is a plain "phy" link.
_EXPOSED_VIF_TYPES = frozenset(
    {"bridge", "dvs", "hw_veb", "hyperv", "ovs", "tap", "vhostuser", "vif"}
)


def network_data(source: InstanceMetadataSource) -> dict[str, Any]:
    """The content of network_data.json: links, networks and services ({} without VIFs)."""
    if not source.vifs:
        return {}
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    services: list[dict[str, str]] = []
    for vif in source.vifs:
        first_v4 = _first(vif, 4)
        first_v6 = _first(vif, 6)
        if first_v4 is None and first_v6 is None:
            continue
        link = _link(vif)
        links.append(link)
        for ip in (first_v4, first_v6):
            if ip is None:
                continue
            networks.append(_network(vif, ip, f"network{len(networks)}", link["id"]))
            services.extend(dns for dns in _dns(ip) if dns not in services)
    return {"links": links, "networks": networks, "services": services}


def fixed_ipv4s(source: InstanceMetadataSource) -> list[str]:
    """Every fixed IPv4 address, in VIF order (EC2's local-ipv4 is the first)."""
    return [ip.address for vif in source.vifs for ip in vif.fixed_ips if ip.version == 4]


def floating_ips(source: InstanceMetadataSource) -> list[str]:
    """Every floating IP, in VIF order (EC2's public-ipv4 is the first)."""
    return [fip for vif in source.vifs for ip in vif.fixed_ips for fip in ip.floating_ips]


def _first(vif: VifInfo, version: int) -> FixedIp | None:
    return next((ip for ip in vif.fixed_ips if ip.version == version), None)


def _link(vif: VifInfo) -> dict[str, Any]:
    # A DHCP server hands out the MTU itself; Nova then leaves it out (null).
    mtu = None if any(ip.dhcp_enabled for ip in vif.fixed_ips) else vif.mtu
    return {
        "id": vif.link_name,
        "vif_id": vif.port_id,
        "type": vif.vif_type if vif.vif_type in _EXPOSED_VIF_TYPES else "phy",
        "mtu": mtu,
        "ethernet_mac_address": vif.mac,
    }


def _network(vif: VifInfo, ip: FixedIp, net_id: str, link_id: str) -> dict[str, Any]:
    version = ip.version
    suffix = ""
    if ip.ipv6_address_mode is not None:
        suffix = f"_{ip.ipv6_address_mode}"
    elif ip.dhcp_enabled:
        return {
            "id": net_id,
            "type": f"ipv{version}_dhcp",
            "link": link_id,
            "network_id": vif.network_id,
        }
    subnet = ipaddress.ip_network(ip.cidr, strict=False)
    routes = _default_route(ip, version)
    for route in ip.host_routes:
        dest = ipaddress.ip_network(route.destination, strict=False)
        routes.append(
            {
                "network": str(dest.network_address),
                "netmask": str(dest.netmask),
                "gateway": route.nexthop,
            }
        )
    return {
        "id": net_id,
        "type": f"ipv{version}{suffix}",
        "link": link_id,
        "ip_address": ip.address,
        "netmask": str(subnet.netmask),
        "routes": routes,
        "network_id": vif.network_id,
        "services": _dns(ip),
    }


def _default_route(ip: FixedIp, version: int) -> list[dict[str, str]]:
    if not ip.gateway:
        return []
    anywhere = "0.0.0.0" if version == 4 else "::"
    return [{"network": anywhere, "netmask": anywhere, "gateway": ip.gateway}]


def _dns(ip: FixedIp) -> list[dict[str, str]]:
    return [{"type": "dns", "address": server} for server in ip.dns_servers]
