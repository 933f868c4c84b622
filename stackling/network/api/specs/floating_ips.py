"""The floating IP resource's attributes."""

from __future__ import annotations

from stackling.network.api import attributes as a

FLOATINGIP = a.Spec(
    "floatingip",
    "floatingips",
    (
        a.Attr("id", filter=True, sort=True),
        a.Attr("floating_ip_address", post=True, validate=a.ip_address_or_none,
               filter=True, sort=True),
        a.Attr("floating_network_id", post=True, default=a.REQUIRED, validate=a.uuid_str,
               filter=True, sort=True),
        # Where to take the address from; not shown, as in Neutron.
        a.Attr("subnet_id", post=True, validate=a.uuid_or_none),
        a.Attr("router_id", filter=True, sort=True),
        a.Attr("port_id", post=True, put=True, validate=a.uuid_or_none, filter=True,
               sort=True),
        a.Attr("fixed_ip_address", post=True, put=True, validate=a.ip_address_or_none,
               filter=True, sort=True),
        a.Attr("status", filter=True, sort=True),
        *a.project_attrs(),
        *a.standard_attrs(),
    ),
)  # fmt: skip
