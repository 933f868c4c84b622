"""The network resource's attributes (core, external-net, provider, net-mtu, AZ, is_default)."""

from __future__ import annotations

from stackling.network.api import attributes as a

NETWORK = a.Spec(
    "network",
    "networks",
    (
        a.Attr("id", filter=True, sort=True),
        a.Attr("name", post=True, put=True, default="", validate=a.string(255),
               filter=True, sort=True),
        a.Attr("admin_state_up", post=True, put=True, default=True, convert=a.to_boolean,
               filter=True, sort=True),
        a.Attr("status", filter=True, sort=True),
        a.Attr("subnets"),
        a.Attr("shared", post=True, put=True, default=False, convert=a.to_boolean, filter=True),
        a.Attr("router:external", post=True, put=True, default=False, convert=a.to_boolean,
               filter=True),
        a.Attr("is_default", post=True, put=True, default=False, convert=a.to_boolean,
               filter=True),
        a.Attr("mtu", post=True, put=True, convert=a.to_int, validate=a.in_range(68, 65535),
               filter=True, sort=True),
        a.Attr("port_security_enabled", post=True, put=True, default=True,
               convert=a.to_boolean, filter=True),
        a.Attr("availability_zone_hints", post=True, default=[],
               validate=a.list_of(a.string(255), unique=True, what="availability zone")),
        a.Attr("availability_zones"),
        a.Attr("provider:network_type", post=True, validate=a.string(255), filter=True),
        a.Attr("provider:physical_network", post=True, validate=a.string(64, allow_none=True),
               filter=True),
        a.Attr("provider:segmentation_id", post=True, convert=a.to_int_or_none, filter=True,
               filter_convert=a.to_int),
        *a.project_attrs(),
        *a.standard_attrs(),
    ),
)  # fmt: skip
