"""What Neutron's API reference documents of its requests, as OpenAPI fragments for the fuzzer.

The network routes read raw JSON bodies, so FastAPI's document has no request
bodies or list filters for them. A resource's body takes the attributes its
spec (stackling/network/api/specs) allows on POST or PUT, required as the spec
requires them, each valued as the API reference documents it (`_values`);
attributes that must name a real resource take the real ids of the run
(`ids`). Besides: quotas, router interfaces and extra routes, tags, and the
list query string every collection shares. Each body has a valid example.
"""

from __future__ import annotations

from typing import Any

from stackling.network.api import attributes
from stackling.network.api.routes.resources import RESOURCES
from stackling.network.service import quota
from tests.support.fuzz import json_body, query

V20 = "/networking/v2.0"
R = f"{V20}/routers/{{ident}}"

_STR = {"type": "string", "maxLength": 64}
_BOOL = {"type": "boolean"}
_NULL = {"type": "null"}
_IPV4 = {"type": "string", "format": "ipv4"}
_IPV6 = {"type": "string", "format": "ipv6"}
_IP = {"anyOf": [_IPV4, _IPV6]}
_CIDR = {
    "type": "string",
    "enum": [
        "10.20.0.0/24",
        "10.20.1.0/28",
        "10.20.0.7/24",
        "fd00:20::/64",
        "0.0.0.0/0",
        "192.0.2.0/30",
        "10.0.0.0/8",
    ],
}
_PREFIXLEN = {"type": "integer", "minimum": 0, "maximum": 128}
_ROUTE = {
    "type": "object",
    "properties": {"destination": _CIDR, "nexthop": _IP},
    "required": ["destination", "nexthop"],
    "additionalProperties": False,
}
_ROUTES = {"type": "array", "items": _ROUTE, "maxItems": 4}
_IPV6_MODE = {"enum": ["slaac", "dhcpv6-stateful", "dhcpv6-stateless", None]}
_MAC = {"type": "string", "pattern": "^[0-9a-fA-F][02468aceACE](:[0-9a-fA-F]{2}){5}$"}


def _one_of(*values: Any) -> dict[str, Any]:
    return {"enum": list(values)}


def _fixed_ips(subnet: str) -> dict[str, Any]:
    entry = {
        "type": "object",
        "properties": {"subnet_id": _one_of(subnet), "ip_address": _IP},
        "additionalProperties": False,
    }
    return {"type": "array", "items": entry, "maxItems": 3}


def _values(ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Attribute name -> the values Neutron's API reference documents for it."""
    # project_id may name another project (admin); tenant_id, its older name, must agree.
    projects = _one_of(ids["admin_project"], ids["project"])
    own = _one_of(ids["admin_project"])
    return {
        "name": _STR,
        "description": _STR,
        "admin_state_up": _BOOL,
        "shared": _BOOL,
        "router:external": _BOOL,
        "mtu": {"type": "integer", "minimum": 68, "maximum": 9216},
        "port_security_enabled": _BOOL,
        "availability_zone_hints": {"type": "array", "items": _one_of("nova", "elsewhere")},
        "provider:network_type": _one_of("flat", "vlan", "vxlan", "geneve", "local"),
        "provider:physical_network": {"anyOf": [_one_of("physnet1", "public"), _NULL]},
        "provider:segmentation_id": {
            "anyOf": [{"type": "integer", "minimum": 1, "maximum": 16777215}, _NULL]
        },
        "project_id": projects,
        "tenant_id": own,
        # subnets
        "ip_version": _one_of(4, 6),
        "network_id": _one_of(ids["network"]),
        "subnetpool_id": {"anyOf": [_one_of(ids["subnetpool"]), _NULL]},
        "use_default_subnetpool": _BOOL,
        "prefixlen": _PREFIXLEN,
        "cidr": {"anyOf": [_CIDR, _NULL]},
        "gateway_ip": {"anyOf": [_IP, _NULL]},
        "allocation_pools": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {"start": _IP, "end": _IP},
                "required": ["start", "end"],
                "additionalProperties": False,
            },
        },
        "dns_nameservers": {"type": "array", "items": _IP, "maxItems": 3},
        "host_routes": _ROUTES,
        "enable_dhcp": _BOOL,
        "ipv6_ra_mode": _IPV6_MODE,
        "ipv6_address_mode": _IPV6_MODE,
        # subnet pools
        "prefixes": {"type": "array", "items": _CIDR, "minItems": 1, "maxItems": 3},
        "default_prefixlen": _PREFIXLEN,
        "min_prefixlen": _PREFIXLEN,
        "max_prefixlen": _PREFIXLEN,
        "default_quota": {"anyOf": [{"type": "integer", "minimum": 0}, _NULL]},
        "is_default": _BOOL,
        # ports
        "mac_address": _MAC,
        "fixed_ips": _fixed_ips(ids["subnet"]),
        "device_id": _STR,
        "device_owner": _one_of(
            "", "compute:nova", "network:router_interface", "network:dhcp", "network:floatingip"
        ),
        "security_groups": {"type": "array", "items": _one_of(ids["security_group"])},
        "allowed_address_pairs": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {"ip_address": {"anyOf": [_IP, _CIDR]}, "mac_address": _MAC},
                "required": ["ip_address"],
                "additionalProperties": False,
            },
        },
        "extra_dhcp_opts": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "opt_name": _one_of("router", "dns-server", "bootfile-name", "mtu"),
                    "opt_value": {"anyOf": [_STR, _NULL]},
                    "ip_version": _one_of(4, 6),
                },
                "required": ["opt_name"],
                "additionalProperties": False,
            },
        },
        "binding:host_id": _STR,
        "binding:vnic_type": _one_of("normal", "direct", "macvtap", "baremetal"),
        "binding:profile": {"anyOf": [{"type": "object", "maxProperties": 3}, _NULL]},
        # routers
        "external_gateway_info": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "network_id": _one_of(ids["external_network"]),
                        "enable_snat": _BOOL,
                        "external_fixed_ips": _fixed_ips(ids["external_subnet"]),
                    },
                    "required": ["network_id"],
                    "additionalProperties": False,
                },
                _NULL,
            ]
        },
        "routes": _ROUTES,
        # security groups and their rules
        "stateful": _BOOL,
        "security_group_id": _one_of(ids["security_group"]),
        "remote_group_id": {"anyOf": [_one_of(ids["security_group"]), _NULL]},
        "direction": _one_of("ingress", "egress"),
        "protocol": _one_of(None, "tcp", "udp", "icmp", "ipv6-icmp", "6", "any", "0", "132"),
        "port_range_min": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 65535}, _NULL]},
        "port_range_max": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 65535}, _NULL]},
        "ethertype": _one_of("IPv4", "IPv6"),
        "remote_ip_prefix": {"anyOf": [_CIDR, _NULL]},
        # floating IPs
        "floating_network_id": _one_of(ids["external_network"]),
        "floating_ip_address": {"anyOf": [_IPV4, _NULL]},
        "subnet_id": {"anyOf": [_one_of(ids["external_subnet"]), _NULL]},
        "port_id": {"anyOf": [_one_of(ids["port"]), _NULL]},
        "fixed_ip_address": {"anyOf": [_IPV4, _NULL]},
    }


# A valid member of each resource, sent first (the PUT example drops what PUT may not set).
def _examples(ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        "network": {"name": "fuzz-net", "mtu": 1450, "availability_zone_hints": ["nova"]},
        "subnet": {
            "network_id": ids["network"],
            "ip_version": 4,
            "cidr": "10.30.0.0/24",
            "name": "fuzz-subnet",
            "dns_nameservers": ["192.0.2.53"],
        },
        "subnetpool": {"name": "fuzz-pool", "prefixes": ["10.99.0.0/16"], "default_prefixlen": 26},
        "port": {
            "network_id": ids["network"],
            "name": "fuzz-port",
            "fixed_ips": [{"subnet_id": ids["subnet"]}],
        },
        "security_group": {"name": "fuzz-sg", "description": "fuzzed"},
        "security_group_rule": {
            "security_group_id": ids["security_group"],
            "direction": "ingress",
            "protocol": "tcp",
            "port_range_min": 22,
            "port_range_max": 22,
        },
        "router": {
            "name": "fuzz-router",
            "external_gateway_info": {"network_id": ids["external_network"]},
        },
        "floatingip": {"floating_network_id": ids["external_network"]},
        "agent": {"description": "fuzzed", "admin_state_up": True},
    }


def _create_shapes(ids: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """What a POST must give together, though no one attribute is required on its own.

    A subnet's addresses come from a CIDR of its IP version or from a subnet pool (IPv4).
    """
    v4 = ["10.60.0.0/24", "10.61.0.0/28", "10.62.0.7/24", "192.0.2.0/30", "172.16.0.0/12"]
    v6 = ["fd00:60::/64", "fd00:61::/120", "fd00:62::7/64"]
    return {
        "subnet": [
            {"required": ["ip_version", "cidr"],
             "properties": {"ip_version": _one_of(4), "cidr": _one_of(*v4)}},
            {"required": ["ip_version", "cidr"],
             "properties": {"ip_version": _one_of(6), "cidr": _one_of(*v6)}},
            {"required": ["ip_version", "subnetpool_id"],
             "properties": {"ip_version": _one_of(4), "subnetpool_id": _one_of(ids["subnetpool"])}},
        ]
    }  # fmt: skip


def _member(
    spec: attributes.Spec,
    values: dict[str, Any],
    *,
    create: bool,
    shapes: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The body of a POST or PUT of the spec's resource: {member: {attributes}}."""
    allowed = [a for a in spec.attrs if (a.post if create else a.put)]
    missing = [a.name for a in allowed if a.name not in values]
    assert not missing, f"{spec.member} attributes with no documented values: {missing}"
    required = [a.name for a in allowed if create and a.default is attributes.REQUIRED]
    item = {
        "type": "object",
        "properties": {a.name: values[a.name] for a in allowed},
        "required": required,
        "additionalProperties": False,
    }
    if create and spec.member in shapes:
        item["anyOf"] = shapes[spec.member]
    return {
        "type": "object",
        "properties": {spec.member: item},
        "required": [spec.member],
        "additionalProperties": False,
    }


def bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) -> the request body Neutron's API reference gives that operation."""
    values, examples = _values(ids), _examples(ids)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for res in RESOURCES:
        spec = res.spec
        collection = f"{V20}/{spec.path}"
        example = examples[spec.member]
        out[("post", collection)] = json_body(
            _member(spec, values, create=True, shapes=_create_shapes(ids)),
            example={spec.member: example},
        )
        if res.update is not None:
            put = {k: v for k, v in example.items() if spec.by_name[k].put}
            out[("put", f"{collection}/{{ident}}")] = json_body(
                _member(spec, values, create=False, shapes={}),
                example={spec.member: put or {"name": "x"}},
            )
    limits = {name: {"type": "integer", "minimum": -1, "maximum": 1000} for name in quota.RESOURCES}
    out[("put", f"{V20}/quotas/{{project_id}}")] = json_body(
        {
            "type": "object",
            "properties": {
                "quota": {
                    "type": "object",
                    "properties": {**limits, "force": _BOOL, "check_limit": _BOOL},
                    "additionalProperties": False,
                }
            },
            "required": ["quota"],
        },
        example={"quota": {"network": 50, "port": -1}},
    )
    interface = {
        "type": "object",
        "properties": {
            "subnet_id": _one_of(ids["subnet"], ids["router_subnet"], ids["external_subnet"]),
            "port_id": _one_of(ids["port"]),
        },
        "anyOf": [{"required": ["subnet_id"]}, {"required": ["port_id"]}],
        "additionalProperties": False,
    }
    out[("put", f"{R}/add_router_interface")] = json_body(
        interface, example={"subnet_id": ids["subnet"]}
    )
    out[("put", f"{R}/remove_router_interface")] = json_body(
        interface, example={"subnet_id": ids["router_subnet"]}
    )
    extraroutes = {
        "type": "object",
        "properties": {
            "router": {
                "type": "object",
                "properties": {"routes": _ROUTES},
                "required": ["routes"],
                "additionalProperties": False,
            }
        },
        "required": ["router"],
    }
    route = {"destination": "10.50.0.0/24", "nexthop": "10.20.0.10"}
    for action in ("add_extraroutes", "remove_extraroutes"):
        out[("put", f"{R}/{action}")] = json_body(
            extraroutes, example={"router": {"routes": [route]}}
        )
    tag = {"type": "string", "minLength": 1, "maxLength": 60}
    out[("put", f"{V20}/{{collection}}/{{ident}}/tags")] = json_body(
        {
            "type": "object",
            "properties": {"tags": {"type": "array", "items": tag, "maxItems": 5}},
            "required": ["tags"],
        },
        example={"tags": ["red", "blue"]},
    )
    return out


def queries(ids: dict[str, str]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(method, path) -> the query string of each collection's list (Neutron's common ones).

    Paging, sorting, fields, tag filters, changed_since, and a few filters by attribute
    (some of which the resource may not filter on: a 400, not a 500).
    """
    out = {}
    for res in RESOURCES:
        spec = res.spec
        sort_keys = [*sorted(spec.sort_keys), "colour"]
        filters = [*sorted(spec.filters)[:6], "colour"]
        out[("get", f"{V20}/{spec.path}")] = query(
            limit={"type": "integer"},
            marker={"anyOf": [_one_of(*ids.values()), _STR]},
            page_reverse=_one_of("True", "false", "maybe"),
            sort_key=_one_of(*sort_keys),
            sort_dir=_one_of("asc", "desc", "sideways"),
            fields=_one_of(*sorted(spec.by_name), "colour"),
            tags=_STR,
            **{"tags-any": _STR, "not-tags": _STR, "not-tags-any": _STR},
            changed_since=_one_of(
                "2020-01-01T00:00:00Z",
                "2020-01-01T00:00:00+01:00",
                "0001-01-01T00:00:00+01:00",
                "yesterday",
            ),
            **{
                name: {"anyOf": [_STR, _one_of("1", "true", "-1", "9" * 30, "ip_address=x")]}
                for name in filters
            },
        )
    return out
