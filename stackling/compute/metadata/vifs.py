"""From the instance's network_info (Nova's info cache) to the VIFs the metadata trees show.

network_info is a list of dicts the network side writes; its format is young, so
every key is optional here and an entry that makes no sense is skipped, never
fatal: one odd address must not cost the guest its whole metadata.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from stackling.compute.metadata.source import FixedIp, HostRoute, VifInfo

LOG = logging.getLogger(__name__)


def vifs_from_network_info(network_info: Iterable[Any] | None) -> tuple[VifInfo, ...]:
    """The instance's VIFs, in network_info order (entries that are not dicts skipped)."""
    return tuple(_vif(entry) for entry in network_info or () if isinstance(entry, dict))


def _vif(entry: dict[str, Any]) -> VifInfo:
    ips = [ip for ip in entry.get("ips") or () if isinstance(ip, dict)]
    fixed = [f for f in (_fixed(ip) for ip in ips if ip.get("type", "fixed") == "fixed") if f]
    floating = _floating_by_fixed(ips, fixed)
    fixed_ips = tuple(replace(f, floating_ips=tuple(floating.get(f.address, ()))) for f in fixed)
    return VifInfo(
        port_id=str(entry.get("port_id") or ""),
        mac=str(entry.get("mac") or ""),
        network_id=str(entry.get("network_id") or ""),
        mtu=_int_or_none(entry.get("mtu")),
        fixed_ips=fixed_ips,
        vif_type=str(entry.get("vif_type") or "bridge"),
        devname=str(entry["devname"]) if entry.get("devname") else None,
    )


def _fixed(ip: dict[str, Any]) -> FixedIp | None:
    address = _address(ip.get("addr"))
    if address is None:
        LOG.debug("network_info: skipping fixed IP %r", ip.get("addr"))
        return None
    # Without a usable prefix the address is shown as a host of its own.
    cidr = _network(ip.get("cidr"), address)
    mode = ip.get("ipv6_address_mode") if ":" in address else None
    return FixedIp(
        address=address,
        cidr=cidr,
        gateway=_address(ip.get("gateway")),
        dns_servers=tuple(a for a in map(_address, ip.get("dns") or ()) if a),
        host_routes=tuple(_routes(ip.get("routes"))),
        dhcp_enabled=bool(ip.get("dhcp", True)),
        ipv6_address_mode=str(mode) if mode else None,
    )


def _floating_by_fixed(ips: list[dict[str, Any]], fixed: list[FixedIp]) -> dict[str, list[str]]:
    """Floating addresses under the fixed address they map to (the first IPv4 if unnamed)."""
    first_v4 = next((f.address for f in fixed if f.version == 4), None)
    known = {f.address for f in fixed}
    out: dict[str, list[str]] = {}
    for ip in ips:
        if ip.get("type") != "floating" or (address := _address(ip.get("addr"))) is None:
            continue
        target = _address(ip.get("fixed_addr")) or first_v4
        if target in known:
            out.setdefault(target, []).append(address)
    return out


def _routes(routes: Any) -> list[HostRoute]:
    found = []
    for route in routes or ():
        if not isinstance(route, dict):
            continue
        nexthop = _address(route.get("nexthop"))
        try:
            destination = str(ipaddress.ip_network(str(route.get("destination")), strict=False))
        except ValueError:
            continue
        if nexthop is not None:
            found.append(HostRoute(destination, nexthop))
    return found


def _address(value: Any) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


def _network(value: Any, address: str) -> str:
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError:
        return str(ipaddress.ip_network(address))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
