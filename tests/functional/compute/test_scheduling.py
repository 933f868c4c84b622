"""Quotas and placement under concurrent boots; server-group policies across fake hosts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings, running_client
from tests.support.identity import project_member
from tests.support.servers import (
    V21,
    assert_nova_fault,
    boot,
    boot_image,
    create_server,
    mv,
    show,
    wait_status,
)


async def _placement_usage(client: httpx.AsyncClient, project_id: str) -> dict[str, int]:
    r = await client.get(
        "/placement/usages",
        params={"project_id": project_id},
        headers={"OpenStack-API-Version": "placement 1.9"},
    )
    assert r.status_code == 200, r.text
    return dict(r.json()["usages"])


async def test_concurrent_boots_never_pass_the_quota(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    image_id = await boot_image(admin, tmp_path)
    project, _user, token = await project_member(admin)
    r = await admin.put(
        f"{V21}/os-quota-sets/{project['id']}",
        json={"quota_set": {"instances": 50, "cores": 1000, "ram": 1_000_000}},
    )
    assert r.status_code == 200, r.text

    async def one(n: int) -> httpx.Response:
        return await create_server(admin, image_id, token, name=f"q-{n}")

    results = await asyncio.gather(*(one(n) for n in range(100)))
    accepted = [r for r in results if r.status_code == 202]
    refused = [r for r in results if r.status_code != 202]
    assert len(accepted) == 50, [r.text for r in refused[:3]]
    for r in refused:
        fault = assert_nova_fault(r, 403, "forbidden")
        assert fault["message"].startswith("Quota exceeded for instances"), fault
    for r in accepted:
        await wait_status(admin, r.json()["server"]["id"], "ACTIVE", token)
    usage = await _placement_usage(admin, project["id"])
    assert usage == {"VCPU": 50, "MEMORY_MB": 50 * 128, "DISK_GB": 50}, usage
    # Placement never holds more than a host offers.
    hosts = (await admin.get(f"{V21}/os-hypervisors/detail", headers=mv("2.87"))).json()
    for hyp in hosts["hypervisors"]:
        assert hyp["vcpus_used"] <= hyp["vcpus"] * 4 and hyp["memory_mb_used"] <= hyp["memory_mb"]


@pytest.fixture
def two_host_settings(tmp_path: Path) -> Settings:
    """A cloud simulating two compute hosts."""
    return make_settings(tmp_path / "data", compute={"driver": "fake", "fake_hosts": 2})


async def test_anti_affinity_spreads_then_says_no_valid_host(
    two_host_settings: Settings, tmp_path: Path
) -> None:
    from tests.conftest import issue_token

    async with running_client(two_host_settings) as client:
        client.headers["X-Auth-Token"] = await issue_token(client)
        image_id = await boot_image(client, tmp_path)
        r = await client.post(
            f"{V21}/os-server-groups",
            json={"server_group": {"name": "apart", "policy": "anti-affinity"}},
            headers=mv("2.64"),
        )
        assert r.status_code == 200, r.text
        group = r.json()["server_group"]["id"]
        hints: dict[str, Any] = {"os:scheduler_hints": {"group": group}}

        async def member(name: str) -> str:
            body = {"server": {"name": name, "imageRef": image_id, "flavorRef": "100"}, **hints}
            r = await client.post(f"{V21}/servers", json=body)
            assert r.status_code == 202, r.text
            return str(r.json()["server"]["id"])

        first, second = await asyncio.gather(member("a"), member("b"))
        hosts = set()
        for sid in (first, second):
            server = await wait_status(client, sid, "ACTIVE")
            hosts.add(server["OS-EXT-SRV-ATTR:host"])
        assert len(hosts) == 2, hosts
        third = await member("c")
        server = await wait_status(client, third, "ERROR")
        assert "No valid host was found" in server["fault"]["message"], server
        r = await client.get(f"{V21}/os-server-groups/{group}")
        assert set(r.json()["server_group"]["members"]) >= {first, second}


async def test_build_failure_shows_a_fault_and_frees_placement(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    image_id = await boot_image(admin, tmp_path)
    sid = await boot(admin, image_id, name="fail-spawn-me")
    server = await wait_status(admin, sid, "ERROR")
    assert "fail-spawn-me" in server["fault"]["message"]
    assert server["fault"]["code"] == 500
    r = await admin.get(
        f"/placement/allocations/{sid}", headers={"OpenStack-API-Version": "placement 1.28"}
    )
    assert r.json()["allocations"] == {}, r.text
    assert (await show(admin, sid))["OS-EXT-STS:task_state"] is None
