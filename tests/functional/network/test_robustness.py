"""Wrong-typed and odd values for every writable attribute: always a 4xx, never a 5xx."""

from __future__ import annotations

from typing import Any

import httpx

from stackling.network.api.specs.networks import NETWORK
from stackling.network.api.specs.ports import PORT
from stackling.network.api.specs.security_groups import SECURITY_GROUP, SECURITY_GROUP_RULE
from stackling.network.api.specs.subnets import SUBNET, SUBNETPOOL
from tests.functional.network.support import V20, create

ODD: list[Any] = [
    None, True, 0, -1, 1.5, 2**63, "", "x" * 300, "nul\x00byte", "\U0001f600", [], [None],
    [{}], [{"a": 1}], {}, {"a": [1]}, ["10.0.0.0/33"], [{"ip_address": "::1"}],
]  # fmt: skip


async def test_no_value_breaks_a_create_or_update(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network", name="base")
    sub = await create(admin, "subnet", network_id=net["id"], ip_version=4, cidr="10.3.0.0/24")
    port = await create(admin, "port", network_id=net["id"])
    sg = await create(admin, "security_group", name="base")
    pool = await create(admin, "subnetpool", prefixes=["10.150.0.0/16"])
    cases = [
        (NETWORK, {}, net["id"]),
        (SUBNET, {"network_id": net["id"], "ip_version": 4, "cidr": "10.4.0.0/24"}, sub["id"]),
        (PORT, {"network_id": net["id"]}, port["id"]),
        (SUBNETPOOL, {"prefixes": ["10.160.0.0/16"]}, pool["id"]),
        (SECURITY_GROUP, {}, sg["id"]),
        (SECURITY_GROUP_RULE, {"security_group_id": sg["id"], "direction": "ingress"}, None),
    ]
    for spec, base, ident in cases:
        url = f"{V20}/{spec.path}"
        for attr in spec.attrs:
            if not (attr.post or attr.put):
                continue
            for value in ODD:
                body = {spec.member: {**base, attr.name: value}}
                r = await admin.post(url, json=body)
                assert r.status_code < 500, (spec.member, attr.name, value, r.text)
                assert "NeutronError" in r.json() or r.status_code == 201
                if ident is not None and attr.put:
                    r = await admin.put(f"{url}/{ident}", json={spec.member: {attr.name: value}})
                    assert r.status_code < 500, (spec.member, attr.name, value, r.text)


async def test_odd_query_strings(admin: httpx.AsyncClient) -> None:
    await create(admin, "network", name="q")
    for params in (
        {"limit": "9" * 40}, {"marker": "x" * 300}, {"limit": "1", "marker": "\x00"},
        {"mtu": "big"}, {"revision_number": "x"}, {"sort_key": "id", "sort_dir": "ASC"},
        {"name": "\x00"}, {"tags": ","}, {"fields": ""}, {"changed_since": "9" * 30},
    ):  # fmt: skip
        r = await admin.get(f"{V20}/networks", params=params)
        assert r.status_code < 500, (params, r.text)


async def test_odd_ids_in_paths(admin: httpx.AsyncClient) -> None:
    for ident in ("x" * 300, "%00", "%F0%9F%98%80", "..%2F..", " "):
        for path in ("networks", "subnets", "ports", "subnetpools", "security-groups",
                     "security-group-rules"):  # fmt: skip
            r = await admin.get(f"{V20}/{path}/{ident}")
            assert 400 <= r.status_code < 500, (path, ident, r.text)
            r = await admin.delete(f"{V20}/{path}/{ident}")
            assert 400 <= r.status_code < 500, (path, ident, r.text)
        r = await admin.put(f"{V20}/networks/{ident}/tags/{ident}")
        assert 400 <= r.status_code < 500, (ident, r.text)
