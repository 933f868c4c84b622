"""Smaller Nova APIs: extensions, the network proxy, external events, host uptime, odd paths."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx

from stackling.compute.service.uptime import format_uptime
from tests.support.identity import project_member
from tests.support.servers import V21, assert_nova_fault, boot, boot_image, mv, wait_status

EVENTS = f"{V21}/os-server-external-events"
UPTIME = re.compile(
    r"^ \d\d:\d\d:\d\d up (\d+ days?, )?(\s?\d+:\d\d|\d+ min),\s+\d+ users?,  "
    r"load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$"
)


async def test_extensions(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V21}/extensions")
    assert r.status_code == 200, r.text
    found = {e["alias"]: e for e in r.json()["extensions"]}
    assert found["os-hosts"]["name"] == "Hosts" and "os-consoles" in found
    assert set(found["os-consoles"]) == {
        "alias", "name", "description", "namespace", "updated", "links"
    }  # fmt: skip
    r = await admin.get(f"{V21}/extensions/os-consoles")
    assert r.json() == {"extension": found["os-consoles"]}
    fault = assert_nova_fault(await admin.get(f"{V21}/extensions/os-nothing"), 404)
    assert fault["message"] == "Extension os-nothing could not be found."
    _, _, token = await project_member(admin, "reader")
    assert (await admin.get(f"{V21}/extensions", headers=mv("2.1", token))).status_code == 200


async def test_network_proxy_shows_the_network_service(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V21}/os-networks")
    assert r.status_code == 200 and r.json() == {"networks": []}
    fault = assert_nova_fault(await admin.get(f"{V21}/os-networks/net-1"), 404)
    assert fault["message"] == "Network net-1 could not be found."
    assert_nova_fault(await admin.get(f"{V21}/os-networks", headers=mv("2.36")), 404)
    r = await admin.post("/networking/v2.0/networks", json={"network": {"name": "n1"}})
    assert r.status_code == 201, r.text
    net = r.json()["network"]
    [shown] = (await admin.get(f"{V21}/os-networks")).json()["networks"]
    assert shown["id"] == net["id"] and shown["label"] == "n1"
    assert shown["cidr"] is None and shown["deleted"] is False
    r = await admin.get(f"{V21}/os-networks/{net['id']}")
    assert r.status_code == 200 and r.json()["network"]["label"] == "n1"
    _, _, token = await project_member(admin)
    r = await admin.get(f"{V21}/os-networks", headers=mv("2.1", token))
    assert r.json() == {"networks": []}
    assert_nova_fault(
        await admin.get(f"{V21}/os-networks/{net['id']}", headers=mv("2.1", token)), 404
    )


async def test_external_events(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    image_id = await boot_image(admin, tmp_path)
    sid = await boot(admin, image_id)
    await wait_status(admin, sid, "ACTIVE")
    unknown = str(uuid.uuid4())
    r = await admin.post(EVENTS, json={"events": [{"name": "network-changed", "server_uuid": sid}]})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "events": [
            {"name": "network-changed", "server_uuid": sid, "status": "completed", "code": 200}
        ]
    }
    events = [
        {"name": "network-vif-plugged", "server_uuid": sid, "tag": "port-1", "status": "failed"},
        {"name": "network-vif-deleted", "server_uuid": unknown},
    ]
    r = await admin.post(EVENTS, json={"events": events})
    assert r.status_code == 207, r.text
    assert [(e["code"], e["status"]) for e in r.json()["events"]] == [
        (200, "completed"),
        (404, "failed"),
    ]
    assert r.json()["events"][0]["tag"] == "port-1"
    r = await admin.post(EVENTS, json={"events": [events[1]]})
    assert assert_nova_fault(r, 404)["message"] == "No instances found for any event"
    # volume-extended needs its volume's id as tag, and exists from 2.51.
    extended = {"name": "volume-extended", "server_uuid": sid}
    assert_nova_fault(
        await admin.post(EVENTS, json={"events": [extended]}, headers=mv("2.50")), 400
    )
    r = await admin.post(EVENTS, json={"events": [extended, events[0]]}, headers=mv("2.51"))
    assert [e["code"] for e in r.json()["events"]] == [400, 200]
    power = {"name": "power-update", "server_uuid": sid, "tag": "POWER_OFF"}
    assert (
        await admin.post(EVENTS, json={"events": [power]}, headers=mv("2.76"))
    ).status_code == 200
    for bad in (
        {},
        {"events": []},
        {"events": [{"name": "network-changed"}]},
        {"events": [{"name": "network-changed", "server_uuid": "not-a-uuid"}]},
        {"events": [{"name": "bogus", "server_uuid": sid}]},
        {"events": [{"name": "network-changed", "server_uuid": sid, "status": "done"}]},
        {"events": [{"name": "network-changed", "server_uuid": sid, "extra": 1}]},
        {"events": [{"name": "network-changed", "server_uuid": sid, "tag": "x" * 256}]},
    ):
        assert_nova_fault(await admin.post(EVENTS, json=bad), 400)
    _, _, token = await project_member(admin)
    body = {"events": [{"name": "network-changed", "server_uuid": sid}]}
    assert_nova_fault(await admin.post(EVENTS, json=body, headers=mv("2.1", token)), 403)


async def test_events_for_a_server_without_a_host(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    image_id = await boot_image(admin, tmp_path)
    r = await admin.post(
        f"{V21}/flavors",
        json={"flavor": {"name": "huge", "ram": 128, "vcpus": 1, "disk": 100000, "id": "huge"}},
    )
    assert r.status_code == 200, r.text
    sid = await boot(admin, image_id, flavorRef="huge")
    server = await wait_status(admin, sid, "ERROR")
    assert server["OS-EXT-SRV-ATTR:host"] is None
    r = await admin.post(EVENTS, json={"events": [{"name": "network-changed", "server_uuid": sid}]})
    assert_nova_fault(r, 404)
    ok = await boot(admin, image_id)
    await wait_status(admin, ok, "ACTIVE")
    events = [
        {"name": "network-changed", "server_uuid": sid},
        {"name": "network-changed", "server_uuid": ok},
    ]
    r = await admin.post(EVENTS, json={"events": events})
    assert r.status_code == 207 and [e["code"] for e in r.json()["events"]] == [422, 200]


async def test_hypervisor_uptime(admin: httpx.AsyncClient) -> None:
    node = (await admin.get(f"{V21}/os-hypervisors")).json()["hypervisors"][0]
    r = await admin.get(f"{V21}/os-hypervisors/{node['id']}/uptime")
    assert r.status_code == 200, r.text
    body = r.json()["hypervisor"]
    assert set(body) == {"id", "hypervisor_hostname", "state", "status", "uptime"}
    assert UPTIME.match(body["uptime"]), body["uptime"]
    r = await admin.get(f"{V21}/os-hypervisors/detail", headers=mv("2.88"))
    assert UPTIME.match(r.json()["hypervisors"][0]["uptime"])
    assert_nova_fault(await admin.get(f"{V21}/os-hypervisors/999/uptime"), 404)
    _, _, token = await project_member(admin)
    r = await admin.get(f"{V21}/os-hypervisors/{node['id']}/uptime", headers=mv("2.1", token))
    assert_nova_fault(r, 403)


def test_uptime_reads_like_the_uptime_command() -> None:
    at = time.struct_time((2024, 5, 1, 9, 5, 7, 2, 122, 0))
    load = (0.0, 0.015, 1.5)
    assert format_uptime(at, 5 * 86400 + 3 * 3600 + 2 * 60 + 59, 2, load) == (
        " 09:05:07 up 5 days,  3:02,  2 users,  load average: 0.00, 0.01, 1.50"
    )
    assert format_uptime(at, 86400 + 59, 1, load).startswith(" 09:05:07 up 1 day, 0 min,  1 user,")
    assert format_uptime(at, 11 * 3600 + 600, 0, load).startswith(" 09:05:07 up 11:10,  0 user,")


async def test_usage_of_an_unnamed_project(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V21}/os-simple-tenant-usage/", params={"start": "2024-01-01T00:00:00"})
    assert_nova_fault(r, 404)
    assert (await admin.get(f"{V21}/os-simple-tenant-usage")).status_code == 200
