"""Pools, capabilities, hosts, extensions and messages: admin views of the backend."""

from __future__ import annotations

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, create_volume
from tests.support.identity import project_member


async def test_pools_and_capabilities_agree(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/scheduler-stats/get_pools")
    assert r.status_code == 200
    (pool,) = r.json()["pools"]
    assert set(pool) == {"name"} and pool["name"].count("@") == 1 and "#" in pool["name"]
    await create_volume(admin, size=3)
    r = await admin.get(f"{V3}/scheduler-stats/get_pools", params={"detail": "true"})
    caps = r.json()["pools"][0]["capabilities"]
    assert caps["allocated_capacity_gb"] == 3
    backend = pool["name"].split("#")[0]
    r = await admin.get(f"{V3}/capabilities/{backend}")
    assert r.status_code == 200
    shown = r.json()
    for key in ("vendor_name", "volume_backend_name", "storage_protocol"):
        assert shown[key] == caps[key]
    assert shown["namespace"] == f"OS::Storage::Capabilities::{backend}"
    r = await admin.get(f"{V3}/capabilities/nohost@none")
    assert_fault(r, 404, "itemNotFound")


async def test_hosts_count_usage_per_project(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/os-hosts")
    hosts = r.json()["hosts"]
    assert {h["service"] for h in hosts} == {"cinder-volume", "cinder-scheduler", "cinder-backup"}
    (volume_host,) = [h["host_name"] for h in hosts if h["service"] == "cinder-volume"]
    _, _, alice = await project_member(admin)
    await create_volume(admin, alice, size=2)
    await create_volume(admin, alice, size=1)
    r = await admin.get(f"{V3}/os-hosts/{volume_host}")
    entries = [e["resource"] for e in r.json()["host"]]
    total = entries[0]
    assert total["project"] == "(total)" and total["volume_count"] == "2"
    assert total["total_volume_gb"] == "3"
    r = await admin.get(f"{V3}/os-hosts/elsewhere@file")
    assert_fault(r, 404, "itemNotFound")


async def test_backend_views_are_for_admins(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    for path in ("/scheduler-stats/get_pools", "/os-hosts"):
        r = await admin.get(f"{V3}{path}", headers=auth(alice))
        assert_fault(r, 403, "forbidden")


async def test_extensions_and_messages(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/extensions")
    aliases = {e["alias"] for e in r.json()["extensions"]}
    assert {"os-hosts", "qos-specs", "os-volume-transfer"} <= aliases
    r = await admin.get(f"{V3}/messages", headers=auth(None, "3.3"))
    assert r.status_code == 200 and r.json() == {"messages": []}
    r = await admin.get(f"{V3}/messages", headers=auth(None, "3.2"))
    assert_fault(r, 404, "itemNotFound")
