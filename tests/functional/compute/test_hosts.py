"""Compute services, hypervisors and availability zones through the Nova API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings
from tests.support.identity import project_member
from tests.support.servers import V21, assert_nova_fault, boot, boot_image, mv, wait_status


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A cloud simulating two compute hosts."""
    return make_settings(
        tmp_path / "data", database={"url": db_url}, compute={"driver": "fake", "fake_hosts": 2}
    )


async def _services(c: httpx.AsyncClient, version: str = "2.1") -> list[dict]:
    r = await c.get(f"{V21}/os-services", headers=mv(version))
    assert r.status_code == 200, r.text
    return list(r.json()["services"])


async def test_services_list_and_filters(admin: httpx.AsyncClient) -> None:
    old = await _services(admin, "2.1")
    assert len(old) == 2 and all(isinstance(s["id"], int) for s in old)
    first = old[0]
    assert first["binary"] == "nova-compute" and first["zone"] == "nova"
    assert (first["status"], first["state"]) == ("enabled", "up")
    assert first["disabled_reason"] is None and first["updated_at"]
    assert "forced_down" not in first
    assert all(s["forced_down"] is False for s in await _services(admin, "2.11"))
    new = await _services(admin, "2.53")
    assert all(len(s["id"]) == 36 for s in new)
    r = await admin.get(f"{V21}/os-services", params={"host": first["host"]})
    assert [s["host"] for s in r.json()["services"]] == [first["host"]]
    r = await admin.get(f"{V21}/os-services", params={"binary": "nova-scheduler"})
    assert r.json() == {"services": []}
    r = await admin.get(f"{V21}/os-services", params={"zone": "x"}, headers=mv("2.75"))
    assert_nova_fault(r, 400)


async def test_services_are_for_admins(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    assert_nova_fault(await admin.get(f"{V21}/os-services", headers=mv("2.1", token)), 403)
    assert_nova_fault(await admin.get(f"{V21}/os-hypervisors", headers=mv("2.1", token)), 403)
    r = await admin.put(
        f"{V21}/os-services/disable", json={"host": "x", "binary": "y"}, headers=mv("2.1", token)
    )
    assert_nova_fault(r, 403)


async def test_update_service_from_2_53(admin: httpx.AsyncClient) -> None:
    service = (await _services(admin, "2.53"))[0]
    url = f"{V21}/os-services/{service['id']}"
    body = {"status": "disabled", "disabled_reason": "maintenance"}
    r = await admin.put(url, json=body, headers=mv("2.53"))
    assert r.status_code == 200, r.text
    updated = r.json()["service"]
    assert updated["status"] == "disabled" and updated["disabled_reason"] == "maintenance"
    assert updated["id"] == service["id"] and updated["zone"] == "nova"
    r = await admin.put(url, json={"forced_down": True}, headers=mv("2.53"))
    assert r.json()["service"]["state"] == "down" and r.json()["service"]["forced_down"] is True
    r = await admin.put(url, json={"status": "enabled", "forced_down": False}, headers=mv("2.53"))
    enabled = r.json()["service"]
    assert enabled["status"] == "enabled" and enabled["disabled_reason"] is None
    assert enabled["state"] == "up"
    for bad in (
        {},
        {"status": "enabled", "disabled_reason": "x"},
        {"disabled_reason": "x"},
        {"status": "paused"},
        {"forced_down": "sometimes"},
        {"host": "x"},
    ):
        assert_nova_fault(await admin.put(url, json=bad, headers=mv("2.53")), 400)
    r = await admin.put(f"{V21}/os-services/not-a-uuid", json=body, headers=mv("2.53"))
    assert_nova_fault(r, 400)
    r = await admin.put(
        f"{V21}/os-services/00000000-0000-4000-8000-000000000000", json=body, headers=mv("2.53")
    )
    assert_nova_fault(r, 404)


async def test_legacy_service_updates(admin: httpx.AsyncClient) -> None:
    host = (await _services(admin))[0]["host"]
    target = {"host": host, "binary": "nova-compute"}
    r = await admin.put(f"{V21}/os-services/disable", json=target)
    assert r.status_code == 200 and r.json() == {"service": {**target, "status": "disabled"}}
    r = await admin.put(
        f"{V21}/os-services/disable-log-reason", json={**target, "disabled_reason": "why not"}
    )
    assert r.json()["service"] == {**target, "status": "disabled", "disabled_reason": "why not"}
    listed = {s["host"]: s for s in await _services(admin)}
    assert listed[host]["status"] == "disabled" and listed[host]["disabled_reason"] == "why not"
    r = await admin.put(f"{V21}/os-services/enable", json=target)
    assert r.json()["service"]["status"] == "enabled"
    r = await admin.put(
        f"{V21}/os-services/force-down", json={**target, "forced_down": True}, headers=mv("2.11")
    )
    assert r.json() == {"service": {**target, "forced_down": True}}
    assert {s["host"]: s for s in await _services(admin)}[host]["state"] == "down"
    r = await admin.put(f"{V21}/os-services/force-down", json={**target, "forced_down": True})
    assert_nova_fault(r, 404)
    assert_nova_fault(await admin.put(f"{V21}/os-services/disable-log-reason", json=target), 400)
    r = await admin.put(
        f"{V21}/os-services/enable", json={"host": "nowhere", "binary": "nova-compute"}
    )
    fault = assert_nova_fault(r, 404)
    assert fault["message"] == "Could not find binary nova-compute on host nowhere."
    assert_nova_fault(await admin.put(f"{V21}/os-services/enable", json={"host": host}), 400)
    assert_nova_fault(await admin.put(f"{V21}/os-services/explode", json=target), 404)


async def test_delete_service_refuses_hosts_with_servers(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    image_id = await boot_image(admin, tmp_path)
    sid = await boot(admin, image_id)
    busy = (await wait_status(admin, sid, "ACTIVE"))["OS-EXT-SRV-ATTR:host"]
    services = {s["host"]: s for s in await _services(admin, "2.53")}
    fault = assert_nova_fault(
        await admin.delete(f"{V21}/os-services/{services[busy]['id']}", headers=mv("2.53")), 409
    )
    assert "hosting instances" in fault["message"]
    idle = next(h for h in services if h != busy)
    assert_nova_fault(await admin.delete(f"{V21}/os-services/{services[idle]['id']}"), 400)
    r = await admin.delete(f"{V21}/os-services/{services[idle]['id']}", headers=mv("2.53"))
    assert r.status_code == 204
    assert [s["host"] for s in await _services(admin)] == [busy]
    r = await admin.get(f"{V21}/os-hypervisors", headers=mv("2.53"))
    assert [h["hypervisor_hostname"] for h in r.json()["hypervisors"]] == [busy]
    r = await admin.delete(f"{V21}/os-services/{services[idle]['id']}", headers=mv("2.53"))
    assert_nova_fault(r, 404)
    assert_nova_fault(await admin.delete(f"{V21}/os-services/999"), 404)


async def test_hypervisors_per_microversion(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    image_id = await boot_image(admin, tmp_path)
    sid = await boot(admin, image_id, name="on-a-host")
    host = (await wait_status(admin, sid, "ACTIVE"))["OS-EXT-SRV-ATTR:host"]
    listed = (await admin.get(f"{V21}/os-hypervisors")).json()["hypervisors"]
    assert len(listed) == 2 and all(isinstance(h["id"], int) for h in listed)
    assert set(listed[0]) == {"id", "hypervisor_hostname", "state", "status"}
    detail = (await admin.get(f"{V21}/os-hypervisors/detail", headers=mv("2.27"))).json()
    node = {h["hypervisor_hostname"]: h for h in detail["hypervisors"]}[host]
    assert isinstance(node["cpu_info"], str)
    assert node["running_vms"] == 1 and node["vcpus_used"] == 1
    assert node["memory_mb_used"] >= 128 and node["local_gb_used"] >= 1
    assert node["free_ram_mb"] == node["memory_mb"] - node["memory_mb_used"]
    assert node["service"]["host"] == host and isinstance(node["service"]["id"], int)
    shown = (await admin.get(f"{V21}/os-hypervisors/{node['id']}", headers=mv("2.28"))).json()
    assert isinstance(shown["hypervisor"]["cpu_info"], dict)
    latest = (await admin.get(f"{V21}/os-hypervisors/detail", headers=mv("2.88"))).json()
    for gone in ("vcpus", "memory_mb_used", "running_vms", "cpu_info", "local_gb"):
        assert gone not in latest["hypervisors"][0]
    assert "uptime" in latest["hypervisors"][0]
    r = await admin.get(
        f"{V21}/os-hypervisors", params={"with_servers": "true"}, headers=mv("2.53")
    )
    by_host = {h["hypervisor_hostname"]: h for h in r.json()["hypervisors"]}
    assert by_host[host]["servers"] == [{"uuid": sid, "name": "on-a-host"}]
    assert "servers" not in next(h for n, h in by_host.items() if n != host)
    r = await admin.get(f"{V21}/os-hypervisors", params={"with_servers": "1"}, headers=mv("2.75"))
    assert all("servers" in h for h in r.json()["hypervisors"])
    uuid = by_host[host]["id"]
    r = await admin.get(
        f"{V21}/os-hypervisors/{uuid}", params={"with_servers": "yes"}, headers=mv("2.53")
    )
    assert r.json()["hypervisor"]["servers"][0]["uuid"] == sid
    assert r.json()["hypervisor"]["service"]["id"] != node["service"]["id"]


async def test_hypervisor_lookups_and_errors(admin: httpx.AsyncClient) -> None:
    assert_nova_fault(await admin.get(f"{V21}/os-hypervisors/999"), 404)
    assert_nova_fault(await admin.get(f"{V21}/os-hypervisors/abc"), 404)
    assert_nova_fault(await admin.get(f"{V21}/os-hypervisors/abc", headers=mv("2.53")), 400)
    r = await admin.get(
        f"{V21}/os-hypervisors/00000000-0000-4000-8000-000000000000", headers=mv("2.53")
    )
    assert_nova_fault(r, 404)
    host = (await admin.get(f"{V21}/os-hypervisors")).json()["hypervisors"][0]
    r = await admin.get(f"{V21}/os-hypervisors/{host['id']}/uptime")
    assert r.status_code == 200 and " up " in r.json()["hypervisor"]["uptime"]
    assert_nova_fault(await admin.get(f"{V21}/os-hypervisors/1/uptime", headers=mv("2.88")), 404)
    name = host["hypervisor_hostname"]
    r = await admin.get(f"{V21}/os-hypervisors/{name}/search")
    assert name in [h["hypervisor_hostname"] for h in r.json()["hypervisors"]]
    r = await admin.get(f"{V21}/os-hypervisors/{name}/servers")
    assert r.status_code == 200 and "servers" not in r.json()["hypervisors"][0]
    fault = assert_nova_fault(await admin.get(f"{V21}/os-hypervisors/zzz-none/search"), 404)
    assert fault["message"] == "No hypervisor matching 'zzz-none' could be found."
    assert_nova_fault(await admin.get(f"{V21}/os-hypervisors/zzz/servers"), 404)
    assert_nova_fault(
        await admin.get(f"{V21}/os-hypervisors/{name}/search", headers=mv("2.53")), 404
    )
    r = await admin.get(
        f"{V21}/os-hypervisors", params={"hypervisor_hostname_pattern": "-2"}, headers=mv("2.53")
    )
    assert [h["hypervisor_hostname"] for h in r.json()["hypervisors"]] == [f"{name}-2"]
    r = await admin.get(
        f"{V21}/os-hypervisors",
        params={"hypervisor_hostname_pattern": "zzz"},
        headers=mv("2.53"),
    )
    assert_nova_fault(r, 404)
    r = await admin.get(
        f"{V21}/os-hypervisors",
        params={"hypervisor_hostname_pattern": name, "limit": 1},
        headers=mv("2.53"),
    )
    assert_nova_fault(r, 400)
    r = await admin.get(f"{V21}/os-hypervisors", params={"bogus": 1}, headers=mv("2.53"))
    assert_nova_fault(r, 400)


async def test_hypervisor_pages_and_statistics(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V21}/os-hypervisors", params={"limit": 1}, headers=mv("2.33"))
    page = r.json()
    assert len(page["hypervisors"]) == 1 and "marker=" in page["hypervisors_links"][0]["href"]
    marker = page["hypervisors"][0]["id"]
    r = await admin.get(
        f"{V21}/os-hypervisors/detail", params={"limit": 1, "marker": marker}, headers=mv("2.33")
    )
    assert len(r.json()["hypervisors"]) == 1 and r.json()["hypervisors"][0]["id"] != marker
    r = await admin.get(f"{V21}/os-hypervisors", params={"marker": "404"}, headers=mv("2.33"))
    assert_nova_fault(r, 400)
    stats = (await admin.get(f"{V21}/os-hypervisors/statistics")).json()["hypervisor_statistics"]
    detail = (await admin.get(f"{V21}/os-hypervisors/detail")).json()["hypervisors"]
    assert stats["count"] == 2 and stats["vcpus"] == sum(h["vcpus"] for h in detail)
    assert_nova_fault(await admin.get(f"{V21}/os-hypervisors/statistics", headers=mv("2.88")), 404)


async def test_availability_zones(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    r = await admin.get(f"{V21}/os-availability-zone", headers=mv("2.1", token))
    assert r.json() == {
        "availabilityZoneInfo": [
            {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}
        ]
    }
    assert_nova_fault(
        await admin.get(f"{V21}/os-availability-zone/detail", headers=mv("2.1", token)), 403
    )
    r = await admin.get(f"{V21}/os-availability-zone/detail")
    zone = r.json()["availabilityZoneInfo"][0]
    assert zone["zoneName"] == "nova" and len(zone["hosts"]) == 2
    service = next(iter(zone["hosts"].values()))["nova-compute"]
    assert service["available"] is True and service["active"] is True and service["updated_at"]
    # A zone whose services are all disabled is listed as unavailable.
    for s in await _services(admin):
        body = {"host": s["host"], "binary": "nova-compute"}
        assert (await admin.put(f"{V21}/os-services/disable", json=body)).status_code == 200
    r = await admin.get(f"{V21}/os-availability-zone")
    assert r.json()["availabilityZoneInfo"][0]["zoneState"] == {"available": False}
