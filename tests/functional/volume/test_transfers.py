"""Volume transfers: offer, accept with the key, quota, isolation, races."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
from sqlalchemy import select

from stackling.volume import models as m
from tests.functional.volume.support import V3, assert_fault, auth, create_volume
from tests.support.identity import project_member

LEGACY = f"{V3}/os-volume-transfer"
CURRENT = f"{V3}/volume-transfers"


def _svc(c: httpx.AsyncClient) -> Any:
    return c._transport.app.state.runtime.service("volume").svc  # type: ignore[attr-defined]


async def _offer(c: httpx.AsyncClient, token: str, volume_id: str, **extra: Any) -> dict[str, Any]:
    body = {"transfer": {"volume_id": volume_id, "name": "gift", **extra}}
    r = await c.post(LEGACY, json=body, headers=auth(token))
    assert r.status_code == 202, r.text
    return dict(r.json()["transfer"])


async def _status(c: httpx.AsyncClient, volume_id: str) -> str:
    r = await c.get(f"{V3}/volumes/{volume_id}")
    return str(r.json()["volume"]["status"])


async def test_accept_moves_the_volume(admin: httpx.AsyncClient) -> None:
    alice_project, _, alice = await project_member(admin)
    bob_project, bob_user, bob = await project_member(admin)
    vol = await create_volume(admin, alice, size=2)
    offer = await _offer(admin, alice, vol["id"])
    assert offer["volume_id"] == vol["id"] and offer["name"] == "gift"
    assert len(offer["auth_key"]) == 16 and offer["created_at"]
    assert offer["links"][0]["rel"] == "self"
    assert await _status(admin, vol["id"]) == "awaiting-transfer"

    # The owner sees the offer without the key; another project does not see it at all.
    r = await admin.get(f"{LEGACY}/{offer['id']}", headers=auth(alice))
    assert r.status_code == 200 and "auth_key" not in r.json()["transfer"]
    r = await admin.get(f"{LEGACY}/{offer['id']}", headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(f"{LEGACY}/detail", headers=auth(bob))
    assert r.json()["transfers"] == []
    r = await admin.get(LEGACY, headers=auth(alice))
    assert [t["id"] for t in r.json()["transfers"]] == [offer["id"]]
    assert "created_at" not in r.json()["transfers"][0]

    # While offered, the volume cannot be deleted.
    r = await admin.delete(f"{V3}/volumes/{vol['id']}", headers=auth(alice))
    assert_fault(r, 400, "badRequest")

    r = await admin.post(
        f"{LEGACY}/{offer['id']}/accept",
        json={"accept": {"auth_key": offer["auth_key"]}},
        headers=auth(bob),
    )
    assert r.status_code == 202, r.text
    assert r.json()["transfer"]["volume_id"] == vol["id"]

    r = await admin.get(f"{V3}/volumes/{vol['id']}", headers=auth(bob))
    moved = r.json()["volume"]
    assert moved["status"] == "available"
    assert moved["os-vol-tenant-attr:tenant_id"] == bob_project["id"]
    assert moved["user_id"] == bob_user["id"]
    r = await admin.get(f"{V3}/volumes/{vol['id']}", headers=auth(alice))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(f"{V3}/os-quota-sets/{alice_project['id']}", params={"usage": "True"})
    assert r.json()["quota_set"]["gigabytes"]["in_use"] == 0
    r = await admin.get(f"{V3}/os-quota-sets/{bob_project['id']}", params={"usage": "True"})
    assert r.json()["quota_set"]["gigabytes"]["in_use"] == 2
    # The offer is used up.
    r = await admin.get(f"{LEGACY}/{offer['id']}", headers=auth(alice))
    assert_fault(r, 404, "itemNotFound")


async def test_wrong_key_and_the_key_is_not_stored(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    vol = await create_volume(admin, alice)
    offer = await _offer(admin, alice, vol["id"])
    r = await admin.post(
        f"{LEGACY}/{offer['id']}/accept", json={"accept": {"auth_key": "0" * 16}}, headers=auth(bob)
    )
    message = assert_fault(r, 400, "badRequest")
    assert message == (
        f"Invalid auth key: Attempt to transfer {offer['id']} with invalid auth key."
    )
    r = await admin.post(f"{LEGACY}/{offer['id']}/accept", json={"accept": {}}, headers=auth(bob))
    assert_fault(r, 400, "badRequest")
    r = await admin.post(
        f"{LEGACY}/nope/accept", json={"accept": {"auth_key": "x"}}, headers=auth(bob)
    )
    assert assert_fault(r, 404, "itemNotFound") == "Transfer nope could not be found."
    assert await _status(admin, vol["id"]) == "awaiting-transfer"

    async with _svc(admin).db.session() as s:
        row = await s.scalar(select(m.Transfer).where(m.Transfer.id == offer["id"]))
    key = offer["auth_key"]
    assert row is not None and key not in row.crypt_hash and key not in row.salt
    assert row.crypt_hash == hashlib.sha256((row.salt + key).encode()).hexdigest()


async def test_create_checks_owner_and_state(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    _, _, reader = await project_member(admin, role="reader")
    vol = await create_volume(admin, alice)
    r = await admin.post(LEGACY, json={"transfer": {"volume_id": vol["id"]}}, headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.post(LEGACY, json={"transfer": {}}, headers=auth(alice))
    assert_fault(r, 400, "badRequest")
    r = await admin.post(LEGACY, json={"transfer": {"volume_id": vol["id"]}}, headers=auth(reader))
    assert_fault(r, 403, "forbidden")
    await _offer(admin, alice, vol["id"])
    # Already offered: not available any more.
    r = await admin.post(LEGACY, json={"transfer": {"volume_id": vol["id"]}}, headers=auth(alice))
    assert "Invalid volume" in assert_fault(r, 400, "badRequest")


async def test_delete_returns_the_volume(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    vol = await create_volume(admin, alice)
    offer = await _offer(admin, alice, vol["id"])
    r = await admin.delete(f"{LEGACY}/{offer['id']}", headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.delete(f"{LEGACY}/{offer['id']}", headers=auth(alice))
    assert r.status_code == 202
    assert await _status(admin, vol["id"]) == "available"
    r = await admin.get(LEGACY, headers=auth(alice))
    assert r.json()["transfers"] == []


async def test_admin_all_tenants(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    vol = await create_volume(admin, alice)
    offer = await _offer(admin, alice, vol["id"])
    r = await admin.get(LEGACY)
    assert r.json()["transfers"] == []
    r = await admin.get(LEGACY, params={"all_tenants": "1"})
    assert [t["id"] for t in r.json()["transfers"]] == [offer["id"]]
    r = await admin.get(LEGACY, params={"all_tenants": "1"}, headers=auth(alice))
    assert [t["id"] for t in r.json()["transfers"]] == [offer["id"]]


async def test_accept_is_within_the_receivers_quota(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    bob_project, _, bob = await project_member(admin)
    r = await admin.put(
        f"{V3}/os-quota-sets/{bob_project['id']}", json={"quota_set": {"gigabytes": 3}}
    )
    assert r.status_code == 200
    await create_volume(admin, bob, size=2)
    vol = await create_volume(admin, alice, size=2)
    offer = await _offer(admin, alice, vol["id"])
    r = await admin.post(
        f"{LEGACY}/{offer['id']}/accept",
        json={"accept": {"auth_key": offer["auth_key"]}},
        headers=auth(bob),
    )
    assert "gigabytes quota" in assert_fault(r, 413, "overLimit")
    # Nothing moved: the offer still stands.
    assert await _status(admin, vol["id"]) == "awaiting-transfer"
    r = await admin.get(f"{V3}/volumes/{vol['id']}", headers=auth(alice))
    assert r.status_code == 200


async def test_two_concurrent_accepts_one_wins(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    bob_project, _, bob = await project_member(admin)
    carol_project, _, carol = await project_member(admin)
    vol = await create_volume(admin, alice)
    offer = await _offer(admin, alice, vol["id"])

    async def take(token: str) -> int:
        r = await admin.post(
            f"{LEGACY}/{offer['id']}/accept",
            json={"accept": {"auth_key": offer["auth_key"]}},
            headers=auth(token),
        )
        return r.status_code

    codes = await asyncio.gather(take(bob), take(carol))
    assert sorted(codes) == [202, 404]
    r = await admin.get(f"{V3}/volumes/{vol['id']}")
    owner = r.json()["volume"]["os-vol-tenant-attr:tenant_id"]
    assert owner == (bob_project["id"] if codes[0] == 202 else carol_project["id"])


async def test_snapshots_follow_unless_no_snapshots(admin: httpx.AsyncClient) -> None:
    alice_project, _, alice = await project_member(admin)
    bob_project, _, bob = await project_member(admin)
    svc = _svc(admin)
    moved: dict[bool, str] = {}
    for no_snapshots in (False, True):
        vol = await create_volume(admin, alice)

        async def add_snapshot(s: Any, vid: str = vol["id"]) -> str:
            snap = m.Snapshot(
                id=f"{vid[:30]}-snap",
                project_id=alice_project["id"],
                volume_id=vid,
                size=1,
                status="available",
                host=svc.host,
            )
            s.add(snap)
            return snap.id

        snap_id = await svc.tx(add_snapshot)
        body = {"transfer": {"volume_id": vol["id"], "no_snapshots": no_snapshots}}
        r = await admin.post(CURRENT, json=body, headers=auth(alice, "3.57"))
        assert r.status_code == 202, r.text
        offer = r.json()["transfer"]
        assert offer["no_snapshots"] is no_snapshots and offer["accepted"] is False
        assert offer["source_project_id"] == alice_project["id"]
        assert offer["destination_project_id"] is None
        r = await admin.post(
            f"{CURRENT}/{offer['id']}/accept",
            json={"accept": {"auth_key": offer["auth_key"]}},
            headers=auth(bob, "3.55"),
        )
        assert r.status_code == 202, r.text
        async with svc.db.session() as s:
            moved[no_snapshots] = str(
                await s.scalar(select(m.Snapshot.project_id).where(m.Snapshot.id == snap_id))
            )
    assert moved == {False: bob_project["id"], True: alice_project["id"]}


async def test_new_api_needs_its_microversion(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    r = await admin.get(CURRENT, headers=auth(alice, "3.54"))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(CURRENT, headers=auth(alice, "3.55"))
    assert r.status_code == 200 and r.json() == {"transfers": []}


async def test_busy_snapshots_block_a_transfer_with_them(admin: httpx.AsyncClient) -> None:
    alice_project, _, alice = await project_member(admin)
    svc = _svc(admin)
    vol = await create_volume(admin, alice)

    async def add_snapshot(s: Any) -> None:
        s.add(
            m.Snapshot(
                id="busy-snapshot",
                project_id=alice_project["id"],
                volume_id=vol["id"],
                size=1,
                status="creating",
                host=svc.host,
            )
        )

    await svc.tx(add_snapshot)
    body: dict[str, Any] = {"transfer": {"volume_id": vol["id"]}}
    r = await admin.post(CURRENT, json=body, headers=auth(alice, "3.55"))
    message = assert_fault(r, 400, "badRequest")
    assert message == "Invalid snapshot: snapshot: busy-snapshot status must be available"
    assert await _status(admin, vol["id"]) == "available"
    body["transfer"]["no_snapshots"] = True
    r = await admin.post(CURRENT, json=body, headers=auth(alice, "3.55"))
    assert r.status_code == 202, r.text


async def test_moving_snapshots_count_in_the_receivers_quota(admin: httpx.AsyncClient) -> None:
    alice_project, _, alice = await project_member(admin)
    bob_project, _, bob = await project_member(admin)
    r = await admin.put(
        f"{V3}/os-quota-sets/{bob_project['id']}", json={"quota_set": {"snapshots": 0}}
    )
    assert r.status_code == 200
    svc = _svc(admin)
    vol = await create_volume(admin, alice)

    async def add_snapshot(s: Any) -> None:
        s.add(
            m.Snapshot(
                id="moving-snapshot",
                project_id=alice_project["id"],
                volume_id=vol["id"],
                size=1,
                status="available",
                host=svc.host,
            )
        )

    await svc.tx(add_snapshot)
    offer = await _offer(admin, alice, vol["id"])
    accept = {"accept": {"auth_key": offer["auth_key"]}}
    r = await admin.post(f"{LEGACY}/{offer['id']}/accept", json=accept, headers=auth(bob))
    assert "snapshots" in assert_fault(r, 413, "overLimit")
    r = await admin.delete(f"{LEGACY}/{offer['id']}", headers=auth(alice))
    assert r.status_code == 202
    r = await admin.post(
        CURRENT,
        json={"transfer": {"volume_id": vol["id"], "no_snapshots": True}},
        headers=auth(alice, "3.55"),
    )
    offer = r.json()["transfer"]
    accept = {"accept": {"auth_key": offer["auth_key"]}}
    r = await admin.post(f"{CURRENT}/{offer['id']}/accept", json=accept, headers=auth(bob, "3.55"))
    assert r.status_code == 202, r.text
