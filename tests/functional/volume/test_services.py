"""os-services: the volume, scheduler and backup services, admin only."""

from __future__ import annotations

import socket

import httpx

from tests.functional.volume.support import V3, assert_fault, auth
from tests.support.identity import project_member


async def test_services_listed_and_filtered(admin: httpx.AsyncClient) -> None:
    svc = admin._transport.app.state.runtime.service("volume").svc  # type: ignore[attr-defined]
    r = await admin.get(f"{V3}/os-services")
    assert r.status_code == 200
    found = {s["binary"]: s for s in r.json()["services"]}
    assert set(found) == {"cinder-volume", "cinder-scheduler", "cinder-backup"}
    assert found["cinder-volume"]["host"] == svc.host
    assert found["cinder-scheduler"]["host"] == socket.gethostname()
    for item in found.values():
        assert item["status"] == "enabled" and item["state"] == "up"
        assert item["zone"] == "nova" and item["updated_at"]
        assert "cluster" not in item
    r = await admin.get(f"{V3}/os-services", params={"binary": "cinder-volume"})
    assert [s["binary"] for s in r.json()["services"]] == ["cinder-volume"]
    r = await admin.get(f"{V3}/os-services", params={"host": socket.gethostname()})
    assert {s["binary"] for s in r.json()["services"]} == {"cinder-scheduler", "cinder-backup"}
    r = await admin.get(f"{V3}/os-services", params={"host": "elsewhere"})
    assert r.json() == {"services": []}
    r = await admin.get(f"{V3}/os-services", headers=auth(None, "3.49"))
    volume = next(s for s in r.json()["services"] if s["binary"] == "cinder-volume")
    assert volume["backend_state"] == "up" and volume["cluster"] is None


async def test_services_are_the_admins(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    r = await admin.get(f"{V3}/os-services", headers=auth(token))
    assert_fault(r, 403, "forbidden")
