"""The port resource's attributes (core, binding, port-security, address pairs, DHCP options)."""

from __future__ import annotations

from typing import Any

from stackling.network import faults
from stackling.network.api import attributes as a

VNIC_TYPES = (
    "normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder",
    "smart-nic", "vdpa", "remote-managed",
)  # fmt: skip

_FIXED_IPS = a.dicts_with({"subnet_id": a.uuid_str, "ip_address": a.ip_address}, (), "fixed IP")
_PAIRS = a.dicts_with(
    {"ip_address": a.ip_or_subnet, "mac_address": a.mac_address}, ("ip_address",),
    "allowed address pair",
)  # fmt: skip
_DHCP_OPTS = a.dicts_with(
    {
        "opt_name": a.string(64),
        "opt_value": a.string(255, allow_none=True),
        "ip_version": a.values(4, 6),
    },
    ("opt_name",),
    "extra DHCP option",
)


def _fixed_ips_unique(value: Any) -> str | None:
    reason = _FIXED_IPS(value)
    if reason:
        return reason
    seen = [entry["ip_address"] for entry in value if "ip_address" in entry]
    for address in seen:
        if seen.count(address) > 1:
            return f"Duplicate IP address '{address}'"
    return None


def fixed_ips_filter(value: str) -> tuple[str, str]:
    """A fixed_ips filter, `ip_address=<ip>` or `subnet_id=<id>`."""
    key, sep, wanted = value.partition("=")
    if not sep or key not in ("ip_address", "subnet_id") or not wanted:
        raise faults.InvalidInput(f"'{value}' is not of the form <key>=[value]")
    return key, wanted


PORT = a.Spec(
    "port",
    "ports",
    (
        a.Attr("id", filter=True, sort=True),
        a.Attr("name", post=True, put=True, default="", validate=a.string(255),
               filter=True, sort=True),
        a.Attr("network_id", post=True, default=a.REQUIRED, validate=a.uuid_str,
               filter=True, sort=True),
        a.Attr("admin_state_up", post=True, put=True, default=True, convert=a.to_boolean,
               filter=True, sort=True),
        a.Attr("mac_address", post=True, put=True, convert=lambda v: v.lower()
               if isinstance(v, str) else v, validate=a.mac_address, filter=True, sort=True),
        a.Attr("fixed_ips", post=True, put=True, convert=a.to_list,
               validate=_fixed_ips_unique, filter=True, filter_convert=fixed_ips_filter),
        a.Attr("device_id", post=True, put=True, default="", validate=a.string(255),
               filter=True, sort=True),
        a.Attr("device_owner", post=True, put=True, default="", validate=a.string(255),
               filter=True, sort=True),
        a.Attr("status", filter=True, sort=True),
        a.Attr("security_groups", post=True, put=True, convert=a.to_list,
               validate=a.list_of(a.uuid_str, unique=True, what="security group")),
        a.Attr("port_security_enabled", post=True, put=True, convert=a.to_boolean,
               filter=True),
        a.Attr("allowed_address_pairs", post=True, put=True, convert=a.to_list,
               validate=_PAIRS),
        a.Attr("extra_dhcp_opts", post=True, put=True, convert=a.to_list,
               validate=_DHCP_OPTS),
        a.Attr("binding:host_id", post=True, put=True, default="", validate=a.string(255),
               filter=True),
        a.Attr("binding:vnic_type", post=True, put=True, default="normal",
               validate=a.values(*VNIC_TYPES), filter=True),
        a.Attr("binding:profile", post=True, put=True, convert=a.to_dict_or_empty,
               validate=a.dict_or_none),
        a.Attr("binding:vif_type"),
        a.Attr("binding:vif_details"),
        *a.project_attrs(),
        *a.standard_attrs(),
    ),
)  # fmt: skip
