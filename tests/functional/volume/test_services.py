"""os-services: the volume, scheduler and backup services, admin only."""

from __future__ import annotations

import socket

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, create_volume
from tests.support.identity import project_member


async def test_services_listed_and_filtered(admin: httpx.AsyncClient) -> None:
    svc = admin._transport.app.state.runtime.service("volume").svc  # type: ignore[attr-defined]
    r = await admin.get(f"{V3}/os-services")
    assert r.status_code == 200
    found = {s["binary"]: s for s in r.json()["services"]}
    assert set(found) == {"cinder-volume", "cinder-scheduler", "cinder-backup"}
    # Cinder names its volume service host@backend, without the pool.
    assert found["cinder-volume"]["host"] == svc.host.split("#")[0]
    assert found["cinder-scheduler"]["host"] == socket.gethostname()
    for item in found.values():
        assert item["status"] == "enabled" and item["state"] == "up"
        assert item["zone"] == "nova" and item["updated_at"]
        assert "cluster" not in item
    r = await admin.get(f"{V3}/os-services", params={"binary": "cinder-volume"})
    assert [s["binary"] for s in r.json()["services"]] == ["cinder-volume"]
    r = await admin.get(f"{V3}/os-services", params={"host": socket.gethostname()})
    assert {s["binary"] for s in r.json()["services"]} == {
        "cinder-scheduler",
        "cinder-backup",
        "cinder-volume",
    }
    r = await admin.get(f"{V3}/os-services", params={"host": "elsewhere"})
    assert r.json() == {"services": []}
    r = await admin.get(f"{V3}/os-services", headers=auth(None, "3.49"))
    volume = next(s for s in r.json()["services"] if s["binary"] == "cinder-volume")
    assert volume["backend_state"] == "up" and volume["cluster"] is None


async def test_services_are_the_admins(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    r = await admin.get(f"{V3}/os-services", headers=auth(token))
    assert_fault(r, 403, "forbidden")


async def test_host_filter_matches_host_backend_and_pool(admin: httpx.AsyncClient) -> None:
    vol = await create_volume(admin)
    r = await admin.get(f"{V3}/volumes/{vol['id']}")
    pool = r.json()["volume"]["os-vol-host-attr:host"]
    backend, plain = pool.split("#")[0], pool.split("@")[0]
    # As Cinder's, a pool names no service: services stop at host@backend.
    r = await admin.get(f"{V3}/os-services", params={"host": pool})
    assert r.json() == {"services": []}
    for wanted in (plain, backend):
        r = await admin.get(f"{V3}/os-services", params={"host": wanted, "binary": "cinder-volume"})
        assert [s["host"] for s in r.json()["services"]] == [backend], wanted
    r = await admin.get(f"{V3}/os-services", params={"host": backend})
    assert [s["binary"] for s in r.json()["services"]] == ["cinder-volume"]
    r = await admin.get(f"{V3}/os-services", params={"host": plain[:-1]})
    assert r.json() == {"services": []}


async def test_enable_disable_freeze_thaw(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/os-services", params={"binary": "cinder-volume"})
    host = r.json()["services"][0]["host"]
    url = f"{V3}/os-services"
    r = await admin.put(f"{url}/disable", json={"host": host, "binary": "cinder-volume"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "host": host,
        "service": "cinder-volume",
        "binary": "cinder-volume",
        "disabled": True,
        "status": "disabled",
    }
    r = await admin.put(
        f"{url}/disable-log-reason",
        json={"host": host, "binary": "cinder-volume", "disabled_reason": "maintenance"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["disabled_reason"] == "maintenance" and r.json()["disabled"] is True
    r = await admin.put(f"{url}/enable", json={"host": host, "service": "cinder-volume"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "enabled" and r.json()["disabled_reason"] is None
    r = await admin.put(f"{url}/freeze", json={"host": host})
    assert r.status_code == 200 and not r.content
    r = await admin.put(f"{url}/thaw", json={"host": host})
    assert r.status_code == 200


async def test_service_updates_refused(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/os-services", params={"binary": "cinder-volume"})
    host = r.json()["services"][0]["host"]
    url = f"{V3}/os-services"
    r = await admin.put(f"{url}/enable", json={"host": "invalid_host", "binary": "cinder-volume"})
    assert_fault(r, 404, "itemNotFound")
    r = await admin.put(f"{url}/disable", json={"host": host, "binary": "invalid_binary"})
    assert_fault(r, 404, "itemNotFound")
    for reason in (None, "", "x" * 256):
        r = await admin.put(
            f"{url}/disable-log-reason",
            json={"host": host, "binary": "cinder-volume", "disabled_reason": reason},
        )
        assert_fault(r, 400, "badRequest")
    r = await admin.put(f"{url}/disable", json={"binary": "cinder-volume"})
    assert_fault(r, 400, "badRequest")
    for action in ("freeze", "thaw"):
        r = await admin.put(f"{url}/{action}", json={"host": "invalid_host"})
        assert_fault(r, 400, "badRequest")
    r = await admin.put(f"{url}/bogus", json={"host": host})
    assert_fault(r, 404, "itemNotFound")
    _, _, token = await project_member(admin)
    r = await admin.put(
        f"{url}/disable", json={"host": host, "binary": "cinder-volume"}, headers=auth(token)
    )
    assert_fault(r, 403, "forbidden")
    r = await admin.put(f"{url}/freeze", json={"host": host}, headers=auth(token))
    assert_fault(r, 403, "forbidden")
