"""Odd bodies and query strings on every placement write and filter: always 4xx, never 5xx."""

from __future__ import annotations

import itertools

import httpx

from tests.functional.placement.support import P, mv, new_uuid, provider_with, put_allocations

ODD_BODIES: list[object] = [
    None,
    0,
    "text",
    [],
    [1, 2],
    {},
    {"name": None},
    {"name": "\u0000"},
    {"name": "x" * 10_000},
    {"resource_provider_generation": -1, "inventories": {"VCPU": {"total": 2**70}}},
    {"resource_provider_generation": "0", "traits": "COMPUTE_NODE"},
    {"resource_provider_generation": 0, "traits": [None]},
    {"resource_provider_generation": 0, "aggregates": ["x"]},
    {"allocations": {"not-a-uuid": {"resources": {"VCPU": 1}}}},
    {"allocations": {new_uuid(): {"resources": {"VCPU": 1.5}}}, "project_id": "p", "user_id": "u"},
    {"allocations": [{"resource_provider": {}, "resources": {}}]},
    {new_uuid(): {"allocations": {}, "project_id": 1, "user_id": "u"}},
    {"resource_class": "vcpu", "total": 1, "resource_provider_generation": 0},
    {"total": 1, "resource_provider_generation": 0, "allocation_ratio": "inf"},
]
QUERIES = [
    "resources=VCPU:1:2",
    "resources=,",
    "resources=VCPU:99999999999999",
    "member_of=in:",
    "member_of=!in:" + new_uuid(),
    "required=!",
    "required=in:",
    "in_tree=\u00e9",
    "limit=-1",
    "limit=x",
    "name=%00",
    "uuid=" + "a" * 500,
    "group_policy=sometimes",
    "root_required=",
]


async def test_odd_input_never_causes_a_server_error(admin: httpx.AsyncClient) -> None:
    rp = await provider_with(admin, VCPU=4)
    consumer = new_uuid()
    assert (await put_allocations(admin, consumer, {rp["uuid"]: {"VCPU": 1}})).status_code == 204
    base = f"{P}/resource_providers/{rp['uuid']}"
    writes = [
        ("POST", f"{P}/resource_providers"),
        ("PUT", base),
        ("PUT", f"{base}/inventories"),
        ("POST", f"{base}/inventories"),
        ("PUT", f"{base}/inventories/VCPU"),
        ("PUT", f"{base}/traits"),
        ("PUT", f"{base}/aggregates"),
        ("PUT", f"{P}/allocations/{consumer}"),
        ("PUT", f"{P}/allocations/{new_uuid()}"),
        ("POST", f"{P}/allocations"),
        ("POST", f"{P}/resource_classes"),
        ("PUT", f"{P}/resource_classes/CUSTOM_X"),
    ]
    seen: set[int] = set()
    for (method, path), payload, minor in itertools.product(writes, ODD_BODIES, (0, 12, 28, 39)):
        r = await admin.request(method, path, json=payload, headers=mv(minor))
        assert r.status_code < 500, f"{method} {path} 1.{minor} {payload!r}: {r.text}"
        seen.add(r.status_code)
    for query, path in itertools.product(QUERIES, ("resource_providers", "allocation_candidates")):
        r = await admin.get(f"{P}/{path}?{query}", headers=mv(39))
        assert r.status_code < 500, f"{path}?{query}: {r.text}"
        seen.add(r.status_code)
    assert 400 in seen
    # Nothing odd got through: the provider still holds what it held.
    r = await admin.get(f"{base}/usages")
    assert r.json()["usages"] == {"VCPU": 1}
