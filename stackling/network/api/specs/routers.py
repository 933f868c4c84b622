"""The router resource's attributes (router, ext-gw-mode, extraroute)."""

from __future__ import annotations

from typing import Any

from stackling.network.api import attributes as a

_FIXED_IPS = a.dicts_with(
    {"subnet_id": a.uuid_str, "ip_address": a.ip_address}, (), "external fixed IP"
)
_ROUTES = a.dicts_with(
    {"destination": a.subnet_cidr, "nexthop": a.ip_address}, ("destination", "nexthop"), "route"
)


def gateway_info(value: Any) -> Any:
    """external_gateway_info: null or {} clears the gateway; enable_snat becomes a boolean."""
    if not isinstance(value, dict) or not value:
        return value
    out = dict(value)
    if "enable_snat" in out:
        out["enable_snat"] = a.to_boolean(out["enable_snat"])
    if "external_fixed_ips" in out:
        out["external_fixed_ips"] = a.to_list(out["external_fixed_ips"])
    return out


def _check_gateway(value: Any) -> str | None:
    """Neutron's validation of external_gateway_info: a dict naming its network."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        return f"'{value}' is not a dictionary"
    unknown = sorted(set(value) - {"network_id", "enable_snat", "external_fixed_ips"})
    if unknown:
        return f"Unexpected keys supplied: {', '.join(unknown)}"
    if "network_id" not in value:
        return (
            "Validation of dictionary's keys failed. Expected keys: ['network_id'] "
            f"Provided keys: {sorted(value)}"
        )
    return a.uuid_str(value["network_id"]) or (
        _FIXED_IPS(value["external_fixed_ips"]) if "external_fixed_ips" in value else None
    )


def check_routes(value: Any) -> str | None:
    """A list of unique {destination, nexthop} routes."""
    reason = _ROUTES(value)
    if reason:
        return reason
    seen: list[tuple[str, str]] = []
    for route in value:
        key = (route["destination"], route["nexthop"])
        if key in seen:
            return f"Duplicate route '{route}'"
        seen.append(key)
    return None


ROUTER = a.Spec(
    "router",
    "routers",
    (
        a.Attr("id", filter=True, sort=True),
        a.Attr("name", post=True, put=True, default="", validate=a.string(255),
               filter=True, sort=True),
        a.Attr("admin_state_up", post=True, put=True, default=True, convert=a.to_boolean,
               filter=True, sort=True),
        a.Attr("status", filter=True, sort=True),
        a.Attr("external_gateway_info", post=True, put=True, default=None,
               convert=gateway_info, validate=_check_gateway),
        # extraroute: routes are set by update only, as in Neutron.
        a.Attr("routes", put=True, convert=a.to_list, validate=check_routes),
        *a.project_attrs(),
        *a.standard_attrs(),
    ),
)  # fmt: skip
