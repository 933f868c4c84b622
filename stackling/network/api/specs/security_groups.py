"""The security group and security group rule resources' attributes."""

from __future__ import annotations

from typing import Any

from stackling.network.api import attributes as a

SECURITY_GROUP = a.Spec(
    "security_group",
    "security_groups",
    (
        a.Attr("id", filter=True, sort=True),
        a.Attr("name", post=True, put=True, default="", validate=a.string(255),
               filter=True, sort=True),
        a.Attr("stateful", post=True, put=True, default=True, convert=a.to_boolean,
               filter=True, sort=True),
        a.Attr("security_group_rules"),
        *a.project_attrs(),
        *a.standard_attrs(),
    ),
)  # fmt: skip


def _port_or_none(value: Any) -> str | None:
    """A port number or null, worded as Neutron's convert_validate_port_value words it."""
    if value is None or (isinstance(value, int) and 0 <= value <= 65535):
        return None
    return f"Invalid value for port {value}"


SECURITY_GROUP_RULE = a.Spec(
    "security_group_rule",
    "security_group_rules",
    (
        a.Attr("id", filter=True, sort=True),
        a.Attr("security_group_id", post=True, default=a.REQUIRED, validate=a.uuid_str,
               filter=True, sort=True),
        # Not checked for form, as in Neutron: an unknown group is a 404 either way.
        a.Attr("remote_group_id", post=True, default=None,
               validate=a.string(255, allow_none=True), filter=True, sort=True),
        a.Attr("direction", post=True, default=a.REQUIRED,
               validate=a.values("ingress", "egress"), filter=True, sort=True),
        a.Attr("protocol", post=True, default=None, filter=True, sort=True),
        a.Attr("port_range_min", post=True, default=None, convert=a.to_int_or_none,
               validate=_port_or_none, filter=True, sort=True, filter_convert=a.to_int),
        a.Attr("port_range_max", post=True, default=None, convert=a.to_int_or_none,
               validate=_port_or_none, filter=True, sort=True, filter_convert=a.to_int),
        a.Attr("ethertype", post=True, default="IPv4", filter=True, sort=True),
        a.Attr("remote_ip_prefix", post=True, default=None, filter=True, sort=True),
        *a.project_attrs(),
        *(attr for attr in a.standard_attrs() if attr.name != "tags"),
    ),
)  # fmt: skip
