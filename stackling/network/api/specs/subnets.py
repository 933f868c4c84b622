"""The subnet and subnet pool resources' attributes."""

from __future__ import annotations

from stackling.network.api import attributes as a

_IPV6_MODES = a.values(None, "slaac", "dhcpv6-stateful", "dhcpv6-stateless")
_POOLS = a.dicts_with({"start": a.ip_address, "end": a.ip_address}, ("start", "end"), "IP pool")
_ROUTES = a.dicts_with(
    {"destination": a.subnet_cidr, "nexthop": a.ip_address},
    ("destination", "nexthop"),
    "hostroute",
)

SUBNET = a.Spec(
    "subnet",
    "subnets",
    (
        a.Attr("id", filter=True, sort=True),
        a.Attr("name", post=True, put=True, default="", validate=a.string(255),
               filter=True, sort=True),
        a.Attr("ip_version", post=True, default=a.REQUIRED, convert=a.to_int,
               validate=a.values(4, 6), filter=True, sort=True),
        a.Attr("network_id", post=True, default=a.REQUIRED, validate=a.uuid_str,
               filter=True, sort=True),
        a.Attr("subnetpool_id", post=True, validate=a.uuid_or_none, filter=True, sort=True),
        a.Attr("use_default_subnetpool", post=True, convert=a.to_boolean),
        a.Attr("prefixlen", post=True, convert=a.to_int, validate=a.non_negative),
        a.Attr("cidr", post=True, validate=a.subnet_or_none, filter=True, sort=True),
        a.Attr("gateway_ip", post=True, put=True, validate=a.ip_address_or_none,
               filter=True, sort=True),
        a.Attr("allocation_pools", post=True, put=True, validate=_POOLS),
        a.Attr("dns_nameservers", post=True, put=True, convert=a.to_list, default=[],
               validate=a.list_of(a.ip_address, unique=True, what="nameserver")),
        a.Attr("host_routes", post=True, put=True, convert=a.to_list, default=[],
               validate=_ROUTES),
        a.Attr("enable_dhcp", post=True, put=True, default=True, convert=a.to_boolean,
               filter=True, sort=True),
        a.Attr("ipv6_ra_mode", post=True, validate=_IPV6_MODES, filter=True, sort=True),
        a.Attr("ipv6_address_mode", post=True, validate=_IPV6_MODES, filter=True, sort=True),
        *a.project_attrs(),
        *a.standard_attrs(),
    ),
)  # fmt: skip

SUBNETPOOL = a.Spec(
    "subnetpool",
    "subnetpools",
    (
        a.Attr("id", filter=True, sort=True),
        a.Attr("name", post=True, put=True, default="", validate=a.string(255),
               filter=True, sort=True),
        a.Attr("ip_version", filter=True, sort=True, filter_convert=a.to_int),
        a.Attr("prefixes", post=True, put=True, default=a.REQUIRED,
               validate=a.list_of(a.subnet_cidr)),
        a.Attr("default_prefixlen", post=True, put=True, convert=a.to_int,
               validate=a.non_negative, filter=True, sort=True),
        a.Attr("min_prefixlen", post=True, put=True, convert=a.to_int,
               validate=a.non_negative, filter=True, sort=True),
        a.Attr("max_prefixlen", post=True, put=True, convert=a.to_int,
               validate=a.non_negative, filter=True, sort=True),
        a.Attr("default_quota", post=True, put=True, convert=a.to_int_or_none,
               validate=a.or_none(a.in_range(0, 0x7FFFFFFF)), filter=True, sort=True,
               filter_convert=a.to_int),
        a.Attr("shared", post=True, default=False, convert=a.to_boolean, filter=True,
               sort=True),
        a.Attr("is_default", post=True, put=True, default=False, convert=a.to_boolean,
               filter=True, sort=True),
        a.Attr("address_scope_id", filter=True, sort=True),
        *a.project_attrs(),
        *a.standard_attrs(),
    ),
)  # fmt: skip
