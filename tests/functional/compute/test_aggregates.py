"""Host aggregates and the availability zones they make, through the Nova API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings
from tests.support.identity import project_member
from tests.support.servers import (
    V21,
    assert_nova_fault,
    boot,
    boot_image,
    create_server,
    mv,
    wait_status,
)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A cloud simulating two compute hosts."""
    return make_settings(
        tmp_path / "data", database={"url": db_url}, compute={"driver": "fake", "fake_hosts": 2}
    )


async def _hosts(c: httpx.AsyncClient) -> list[str]:
    r = await c.get(f"{V21}/os-services")
    return sorted(s["host"] for s in r.json()["services"])


async def _aggregate(c: httpx.AsyncClient, name: str, zone: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if zone is not None:
        body["availability_zone"] = zone
    r = await c.post(f"{V21}/os-aggregates", json={"aggregate": body}, headers=mv("2.41"))
    assert r.status_code == 200, r.text
    return dict(r.json()["aggregate"])


async def _action(c: httpx.AsyncClient, agg_id: int, body: dict[str, Any]) -> httpx.Response:
    return await c.post(f"{V21}/os-aggregates/{agg_id}/action", json=body, headers=mv("2.41"))


async def _zones(c: httpx.AsyncClient) -> dict[str, bool]:
    r = await c.get(f"{V21}/os-availability-zone")
    return {z["zoneName"]: z["zoneState"]["available"] for z in r.json()["availabilityZoneInfo"]}


async def test_create_show_update_delete(admin: httpx.AsyncClient) -> None:
    made = await _aggregate(admin, "rack-1", "az1")
    assert made["availability_zone"] == "az1" and len(made["uuid"]) == 36
    assert "hosts" not in made and "metadata" not in made and made["deleted"] is False
    r = await admin.get(f"{V21}/os-aggregates/{made['id']}")
    shown = r.json()["aggregate"]
    assert shown["hosts"] == [] and shown["metadata"] == {"availability_zone": "az1"}
    assert "uuid" not in shown
    fault = assert_nova_fault(
        await admin.post(f"{V21}/os-aggregates", json={"aggregate": {"name": "rack-1"}}), 409
    )
    assert fault["message"] == "Aggregate rack-1 already exists."
    r = await admin.put(
        f"{V21}/os-aggregates/{made['id']}",
        json={"aggregate": {"name": "rack-one", "availability_zone": "az9"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["aggregate"]["name"] == "rack-one" and r.json()["aggregate"]["updated_at"]
    assert r.json()["aggregate"]["availability_zone"] == "az9"
    for bad in ({}, {"availability_zone": None}, {"colour": "red"}):
        r = await admin.put(f"{V21}/os-aggregates/{made['id']}", json={"aggregate": bad})
        assert_nova_fault(r, 400)
    other = await _aggregate(admin, "rack-2")
    assert other["availability_zone"] is None
    r = await admin.put(
        f"{V21}/os-aggregates/{other['id']}", json={"aggregate": {"name": "rack-one"}}
    )
    assert_nova_fault(r, 409)
    listed = (await admin.get(f"{V21}/os-aggregates", headers=mv("2.41"))).json()["aggregates"]
    assert [a["name"] for a in listed] == ["rack-one", "rack-2"] and listed[0]["uuid"]
    r = await admin.delete(f"{V21}/os-aggregates/{other['id']}")
    assert r.status_code == 200 and not r.content
    fault = assert_nova_fault(await admin.get(f"{V21}/os-aggregates/{other['id']}"), 404)
    assert fault["message"] == f"Aggregate {other['id']} could not be found."
    assert_nova_fault(await admin.get(f"{V21}/os-aggregates/abc"), 400)


@pytest.mark.parametrize(
    "body",
    [
        {"aggregate": {}},
        {"aggregate": {"name": ""}},
        {"aggregate": {"name": " x"}},
        {"aggregate": {"name": "x", "availability_zone": "a:b"}},
        {"aggregate": {"name": "x", "availability_zone": ""}},
        {"aggregate": {"name": "x", "colour": "red"}},
        {"aggregate": {"name": "x", "availability_zone": "internal"}},
        {"name": "x"},
    ],
)
async def test_create_refuses_bad_bodies(admin: httpx.AsyncClient, body: dict[str, Any]) -> None:
    assert_nova_fault(await admin.post(f"{V21}/os-aggregates", json=body), 400)


async def test_aggregates_are_for_admins(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    assert_nova_fault(await admin.get(f"{V21}/os-aggregates", headers=mv("2.1", token)), 403)
    r = await admin.post(
        f"{V21}/os-aggregates", json={"aggregate": {"name": "x"}}, headers=mv("2.1", token)
    )
    assert_nova_fault(r, 403)
    made = await _aggregate(admin, "mine")
    r = await admin.post(
        f"{V21}/os-aggregates/{made['id']}/action",
        json={"set_metadata": {"metadata": {"a": "b"}}},
        headers=mv("2.1", token),
    )
    assert_nova_fault(r, 403)


async def test_hosts_and_zones(admin: httpx.AsyncClient) -> None:
    first, second = await _hosts(admin)
    agg = await _aggregate(admin, "fast", "az1")
    fault = assert_nova_fault(await _action(admin, agg["id"], {"add_host": {"host": "ghost"}}), 404)
    assert fault["message"] == "Compute host ghost could not be found."
    r = await _action(admin, agg["id"], {"add_host": {"host": first}})
    assert r.status_code == 200 and r.json()["aggregate"]["hosts"] == [first]
    fault = assert_nova_fault(await _action(admin, agg["id"], {"add_host": {"host": first}}), 409)
    assert fault["message"] == f"Aggregate {agg['id']} already has host {first}."
    # The host now lives in az1; the other host keeps the default zone.
    assert await _zones(admin) == {"az1": True, "nova": True}
    r = await admin.get(f"{V21}/os-services")
    assert {s["host"]: s["zone"] for s in r.json()["services"]} == {first: "az1", second: "nova"}
    # A host cannot be in two zones: neither by adding it nor by renaming a zone.
    other = await _aggregate(admin, "slow", "az2")
    r = await _action(admin, other["id"], {"add_host": {"host": first}})
    assert "availability zone" in assert_nova_fault(r, 409)["message"]
    plain = await _aggregate(admin, "tagged")
    assert (await _action(admin, plain["id"], {"add_host": {"host": first}})).status_code == 200
    r = await _action(
        admin, plain["id"], {"set_metadata": {"metadata": {"availability_zone": "az3"}}}
    )
    assert "already in availability zone" in assert_nova_fault(r, 400)["message"]
    r = await admin.put(
        f"{V21}/os-aggregates/{plain['id']}", json={"aggregate": {"availability_zone": "az3"}}
    )
    assert_nova_fault(r, 400)
    # The same zone is fine, and so is plain metadata; null removes a key.
    r = await _action(
        admin,
        plain["id"],
        {"set_metadata": {"metadata": {"availability_zone": "az1", "ssd": "true"}}},
    )
    assert r.json()["aggregate"]["metadata"] == {"availability_zone": "az1", "ssd": "true"}
    r = await _action(admin, plain["id"], {"set_metadata": {"metadata": {"ssd": None}}})
    assert r.json()["aggregate"]["metadata"] == {"availability_zone": "az1"}
    r = await _action(
        admin, plain["id"], {"set_metadata": {"metadata": {"availability_zone": None}}}
    )
    assert_nova_fault(r, 400)
    # A non-empty aggregate cannot go; emptied, it can.
    assert_nova_fault(await admin.delete(f"{V21}/os-aggregates/{agg['id']}"), 400)
    r = await _action(admin, agg["id"], {"remove_host": {"host": first}})
    assert r.status_code == 200 and r.json()["aggregate"]["hosts"] == []
    fault = assert_nova_fault(
        await _action(admin, agg["id"], {"remove_host": {"host": first}}), 404
    )
    assert fault["message"] == f"Aggregate {agg['id']} has no host {first}."
    assert (await admin.delete(f"{V21}/os-aggregates/{agg['id']}")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"add_host": {}},
        {"add_host": {"host": ""}},
        {"add_host": {"host": "x", "extra": 1}},
        {"set_metadata": {"metadata": {"bad/key": "v"}}},
        {"set_metadata": {"metadata": {"k": 5}}},
        {"set_metadata": {}},
        {"shrink": {}},
        {"add_host": {"host": "x"}, "remove_host": {"host": "x"}},
    ],
)
async def test_actions_refuse_bad_bodies(admin: httpx.AsyncClient, body: dict[str, Any]) -> None:
    agg = await _aggregate(admin, "target")
    assert_nova_fault(await _action(admin, agg["id"], body), 400)


async def test_zones_steer_boots_and_pin_hosts_with_servers(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    first, second = await _hosts(admin)
    image_id = await boot_image(admin, tmp_path)
    agg = await _aggregate(admin, "edge", "edge-az")
    assert (await _action(admin, agg["id"], {"add_host": {"host": second}})).status_code == 200
    sid = await boot(admin, image_id, availability_zone="edge-az")
    server = await wait_status(admin, sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == second
    assert server["OS-EXT-AZ:availability_zone"] == "edge-az"
    r = await create_server(admin, image_id, availability_zone="moon")
    assert_nova_fault(r, 400)
    # Its servers pin the host to its zone.
    r = await _action(admin, agg["id"], {"remove_host": {"host": second}})
    assert_nova_fault(r, 409)
    r = await admin.put(
        f"{V21}/os-aggregates/{agg['id']}", json={"aggregate": {"availability_zone": "elsewhere"}}
    )
    assert "contain instances" in assert_nova_fault(r, 400)["message"]
    other = await _aggregate(admin, "moved", "new-az")
    assert_nova_fault(await _action(admin, other["id"], {"add_host": {"host": second}}), 409)
    # A host without servers moves freely.
    assert (await _action(admin, other["id"], {"add_host": {"host": first}})).status_code == 200
    assert await _zones(admin) == {"edge-az": True, "new-az": True}
