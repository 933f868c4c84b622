"""What hangs off a port besides its addresses: security, address pairs, DHCP options, binding."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.network import faults
from stackling.network import models as m
from stackling.settings import NetworkSettings

# The Linux bridge data plane: a port bound to a host is plugged into a bridge there.
BOUND_VIF_TYPE = "bridge"
BOUND_VIF_DETAILS = {"port_filter": True, "connectivity": "l2"}


def bind(port: m.Port) -> None:
    """Bind the port where its host says (unbound without a host).

    Binding decides what the hypervisor plugs the guest into; with one Linux
    bridge data plane there is nothing to choose, so a host is enough. The data
    plane may later mark a binding failed (binding_failed) when it cannot plug.
    """
    if port.binding_host_id:
        # None: a new port, before its column default applies.
        if port.binding_vif_type in (None, "unbound", "binding_failed"):
            port.binding_vif_type = BOUND_VIF_TYPE
            port.binding_vif_details = dict(BOUND_VIF_DETAILS)
    else:
        port.binding_vif_type = "unbound"
        port.binding_vif_details = {}


def check_security(secure: bool, groups: list[str] | None, pairs: list[Any] | None) -> None:
    """Groups and address pairs both need port security on a new port."""
    if not secure and groups:
        raise faults.PortSecurityAndIPRequiredForSecurityGroups()
    if not secure and pairs:
        raise faults.AddressPairAndPortSecurityRequired()


def check_update_security(
    port: m.Port, secure: bool, groups: list[str] | None, pairs: list[Any] | None
) -> None:
    """Port security may only be turned off once the port has no groups or address pairs."""
    if secure:
        return
    kept_groups = groups if groups is not None else port.security_group_bindings
    kept_pairs = pairs if pairs is not None else port.allowed_address_pairs
    if kept_groups:
        raise faults.PortSecurityPortHasSecurityGroup()
    if kept_pairs:
        raise faults.AddressPairAndPortSecurityRequired()


def _pairs(
    conf: NetworkSettings, port: m.Port, pairs: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    if len(pairs) > conf.max_allowed_address_pair:
        raise faults.AllowedAddressPairExhausted(conf.max_allowed_address_pair)
    out: list[tuple[str, str]] = []
    for pair in pairs:
        key = ((pair.get("mac_address") or port.mac_address).lower(), pair["ip_address"])
        if key in out:
            raise faults.DuplicateAddressPairInRequest(*key)
        out.append(key)
    return out


def store_pairs(
    s: AsyncSession, conf: NetworkSettings, port: m.Port, pairs: list[dict[str, Any]]
) -> None:
    """Add the port's allowed address pairs (the MAC defaults to the port's)."""
    s.add_all(
        m.AllowedAddressPair(port_id=port.id, mac_address=mac, ip_address=ip)
        for mac, ip in _pairs(conf, port, pairs)
    )


async def replace_pairs(
    s: AsyncSession, conf: NetworkSettings, port: m.Port, pairs: list[dict[str, Any]]
) -> bool:
    """Make `pairs` the port's whole list; whether it changed."""
    new = _pairs(conf, port, pairs)
    if new == [(p.mac_address, p.ip_address) for p in port.allowed_address_pairs]:
        return False
    await s.execute(delete(m.AllowedAddressPair).where(m.AllowedAddressPair.port_id == port.id))
    await s.flush()
    store_pairs(s, conf, port, pairs)
    return True


async def replace_groups(s: AsyncSession, port: m.Port, groups: list[str]) -> bool:
    """Make `groups` the port's security groups; whether they changed."""
    if sorted(groups) == sorted(b.security_group_id for b in port.security_group_bindings):
        return False
    await s.execute(delete(m.PortSecurityGroup).where(m.PortSecurityGroup.port_id == port.id))
    await s.flush()
    s.add_all(m.PortSecurityGroup(port_id=port.id, security_group_id=g) for g in groups)
    return True


def store_dhcp_opts(s: AsyncSession, port: m.Port, opts: list[dict[str, Any]]) -> None:
    """Add DHCP options (one with a null value is nothing to add)."""
    seen: set[tuple[str, int]] = set()
    for opt in opts:
        if opt.get("opt_value") is None:
            continue
        key = (opt["opt_name"], int(opt.get("ip_version", 4)))
        if key in seen:
            raise faults.InvalidInput(f"Duplicate extra_dhcp_opt {opt['opt_name']}")
        seen.add(key)
        s.add(
            m.ExtraDhcpOpt(
                port_id=port.id, opt_name=key[0], opt_value=str(opt["opt_value"]), ip_version=key[1]
            )
        )


async def update_dhcp_opts(s: AsyncSession, port: m.Port, opts: list[dict[str, Any]]) -> bool:
    """Set or (with a null value) remove the named options, as Neutron's update does."""
    current = {(o.opt_name, o.ip_version): o for o in port.extra_dhcp_opts}
    changed = False
    for opt in opts:
        key = (opt["opt_name"], int(opt.get("ip_version", 4)))
        row = current.get(key)
        value = opt.get("opt_value")
        if value is None:
            if row is not None:
                await s.delete(row)
                changed = True
        elif row is None:
            s.add(m.ExtraDhcpOpt(port_id=port.id, opt_name=key[0], opt_value=str(value),
                                 ip_version=key[1]))  # fmt: skip
            changed = True
        elif row.opt_value != str(value):
            row.opt_value = str(value)
            changed = True
    return changed


async def change_mac(s: AsyncSession, port: m.Port, mac: str) -> bool:
    """Give an unbound port another MAC (409 when bound or when the MAC is taken)."""
    if port.binding_vif_type not in ("unbound", "binding_failed"):
        raise faults.PortBound(port.id, port.binding_vif_type, port.mac_address, mac)
    port.mac_address = mac
    try:
        async with s.begin_nested():
            await s.flush()
    except IntegrityError:
        raise faults.MacAddressInUse(port.network_id, mac) from None
    return True
