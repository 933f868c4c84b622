"""os-hosts: hosts by service, a host's resources, enabling and disabling, power actions."""

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


async def _hosts(c: httpx.AsyncClient, **params: str) -> list[dict[str, str]]:
    r = await c.get(f"{V21}/os-hosts", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["hosts"])


async def _services(c: httpx.AsyncClient) -> dict[str, dict]:
    r = await c.get(f"{V21}/os-services")
    return {s["host"]: s for s in r.json()["services"]}


async def test_hosts_by_service_and_zone(admin: httpx.AsyncClient) -> None:
    listed = await _hosts(admin)
    names = sorted(h["host_name"] for h in listed)
    assert len(names) == 2
    assert all(h["service"] == "compute" and h["zone"] == "nova" for h in listed)
    assert len(await _hosts(admin, zone="nova")) == 2
    assert len(await _hosts(admin, zone="")) == 2
    assert await _hosts(admin, zone="xxx") == []
    r = await admin.post(
        f"{V21}/os-aggregates", json={"aggregate": {"name": "a", "availability_zone": "az1"}}
    )
    agg = r.json()["aggregate"]
    r = await admin.post(
        f"{V21}/os-aggregates/{agg['id']}/action", json={"add_host": {"host": names[0]}}
    )
    assert r.status_code == 200, r.text
    assert await _hosts(admin, zone="az1") == [
        {"host_name": names[0], "service": "compute", "zone": "az1"}
    ]
    # A disabled service is not listed, as in Nova.
    r = await admin.put(f"{V21}/os-hosts/{names[1]}", json={"status": "disable"})
    assert r.json() == {"host": names[1], "status": "disabled"}
    assert [h["host_name"] for h in await _hosts(admin)] == [names[0]]
    assert_nova_fault(await admin.get(f"{V21}/os-hosts", headers=mv("2.43")), 404)
    _, _, token = await project_member(admin)
    assert_nova_fault(await admin.get(f"{V21}/os-hosts", headers=mv("2.1", token)), 403)


async def test_a_hosts_resources(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    image_id = await boot_image(admin, tmp_path)
    project, _, token = await project_member(admin)
    sid = await boot(admin, image_id, token)
    host = (await wait_status(admin, sid, "ACTIVE"))["OS-EXT-SRV-ATTR:host"]
    r = await admin.get(f"{V21}/os-hosts/{host}")
    assert r.status_code == 200, r.text
    rows = {row["resource"]["project"]: row["resource"] for row in r.json()["host"]}
    assert list(rows) == ["(total)", "(used_now)", "(used_max)", project["id"]]
    node = next(
        h
        for h in (await admin.get(f"{V21}/os-hypervisors/detail")).json()["hypervisors"]
        if h["hypervisor_hostname"] == host
    )
    assert rows["(total)"] == {
        "host": host,
        "project": "(total)",
        "cpu": node["vcpus"],
        "memory_mb": node["memory_mb"],
        "disk_gb": node["local_gb"],
    }
    used = rows["(used_now)"]
    assert (used["cpu"], used["memory_mb"], used["disk_gb"]) == (
        node["vcpus_used"],
        node["memory_mb_used"],
        node["local_gb_used"],
    )
    # The s1.nano flavor: 1 vCPU, 128 MB, 1 GB.
    for name in ("(used_max)", project["id"]):
        assert (rows[name]["cpu"], rows[name]["memory_mb"], rows[name]["disk_gb"]) == (1, 128, 1)
    other = next(h for h in await _services(admin) if h != host)
    r = await admin.get(f"{V21}/os-hosts/{other}")
    assert [row["resource"]["project"] for row in r.json()["host"]] == [
        "(total)",
        "(used_now)",
        "(used_max)",
    ]
    assert r.json()["host"][2]["resource"]["cpu"] == 0
    fault = assert_nova_fault(await admin.get(f"{V21}/os-hosts/nowhere"), 404)
    assert fault["message"] == "Compute host nowhere could not be found."
    assert_nova_fault(await admin.get(f"{V21}/os-hosts/{host}", headers=mv("2.1", token)), 403)


async def test_enable_and_disable(admin: httpx.AsyncClient) -> None:
    host = sorted(await _services(admin))[0]
    url = f"{V21}/os-hosts/{host}"
    r = await admin.put(url, json={"status": "DISABLE"})
    assert r.status_code == 200 and r.json() == {"host": host, "status": "disabled"}
    assert (await _services(admin))[host]["status"] == "disabled"
    r = await admin.put(url, json={"status": "Enable"})
    assert r.json() == {"host": host, "status": "enabled"}
    assert (await _services(admin))[host]["status"] == "enabled"
    for bad in ({}, {"status": "invalid"}, {"status": "enable", "other": 1}, {"status": 1}):
        assert_nova_fault(await admin.put(url, json=bad), 400)
    # Maintenance mode is not something the driver does; nothing changes.
    r = await admin.put(url, json={"status": "disable", "maintenance_mode": "enable"})
    assert_nova_fault(r, 501)
    assert (await _services(admin))[host]["status"] == "enabled"
    r = await admin.put(f"{V21}/os-hosts/nowhere", json={"status": "enable"})
    assert_nova_fault(r, 404)
    _, _, token = await project_member(admin)
    assert_nova_fault(await admin.put(url, json={"status": "x"}, headers=mv("2.1", token)), 403)
    assert_nova_fault(await admin.put(url, json={"status": "enable"}, headers=mv("2.43")), 404)
    r = await admin.put(
        f"{V21}/os-services/force-down",
        json={"host": host, "binary": "nova-compute", "forced_down": True},
        headers=mv("2.11"),
    )
    assert r.status_code == 200, r.text
    fault = assert_nova_fault(await admin.put(url, json={"status": "enable"}), 400)
    assert fault["message"] == f"Compute service of {host} is unavailable at this time."


async def test_power_actions_are_not_supported(admin: httpx.AsyncClient) -> None:
    host = sorted(await _services(admin))[0]
    _, _, token = await project_member(admin)
    for action in ("reboot", "shutdown", "startup"):
        assert_nova_fault(await admin.get(f"{V21}/os-hosts/{host}/{action}"), 501)
        assert_nova_fault(await admin.get(f"{V21}/os-hosts/nowhere/{action}"), 404)
        r = await admin.get(f"{V21}/os-hosts/{host}/{action}", headers=mv("2.1", token))
        assert_nova_fault(r, 403)
    assert_nova_fault(await admin.get(f"{V21}/os-hosts/{host}/explode"), 404)
