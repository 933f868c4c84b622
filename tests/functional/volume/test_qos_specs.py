"""QoS specs: CRUD, keys, associations with volume types, and what consumers are given."""

from __future__ import annotations

from typing import Any

import httpx

from stackling.volume.service import qos
from tests.functional.volume.support import V3, assert_fault, auth
from tests.support.identity import project_member

QOS = f"{V3}/qos-specs"


async def _type(c: httpx.AsyncClient, name: str) -> dict[str, Any]:
    r = await c.post(f"{V3}/types", json={"volume_type": {"name": name}})
    assert r.status_code == 200, r.text
    return dict(r.json()["volume_type"])


async def _qos(c: httpx.AsyncClient, name: str, **specs: str) -> dict[str, Any]:
    r = await c.post(QOS, json={"qos_specs": {"name": name, **specs}})
    assert r.status_code == 200, r.text
    return dict(r.json()["qos_specs"])


async def test_crud_and_keys(admin: httpx.AsyncClient) -> None:
    r = await admin.post(
        QOS, json={"qos_specs": {"name": "gold", "consumer": "front-end", "read_iops_sec": "100"}}
    )
    assert r.status_code == 200, r.text
    created = r.json()["qos_specs"]
    assert created["name"] == "gold" and created["consumer"] == "front-end"
    assert created["specs"] == {"read_iops_sec": "100"}
    assert r.json()["links"][0]["rel"] == "self"
    qid = created["id"]
    r = await admin.post(QOS, json={"qos_specs": {"name": "gold"}})
    assert_fault(r, 409, "conflictingRequest")
    r = await admin.post(QOS, json={"qos_specs": {"name": "x", "consumer": "nobody"}})
    assert "Valid consumer of QoS specs are" in assert_fault(r, 400, "badRequest")
    r = await admin.post(QOS, json={"qos_specs": {"consumer": "both"}})
    assert_fault(r, 400, "badRequest")

    r = await admin.put(
        f"{QOS}/{qid}", json={"qos_specs": {"write_iops_sec": "50", "read_iops_sec": "200"}}
    )
    assert r.status_code == 200
    assert r.json() == {"qos_specs": {"write_iops_sec": "50", "read_iops_sec": "200"}}
    r = await admin.get(f"{QOS}/{qid}")
    assert r.json()["qos_specs"]["specs"] == {"read_iops_sec": "200", "write_iops_sec": "50"}
    r = await admin.put(f"{QOS}/{qid}/delete_keys", json={"keys": ["write_iops_sec"]})
    assert r.status_code == 202
    r = await admin.put(f"{QOS}/{qid}/delete_keys", json={"keys": ["absent"]})
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(QOS)
    assert [(q["name"], q["specs"]) for q in r.json()["qos_specs"]] == [
        ("gold", {"read_iops_sec": "200"})
    ]
    r = await admin.delete(f"{QOS}/{qid}")
    assert r.status_code == 202
    r = await admin.get(f"{QOS}/{qid}")
    assert assert_fault(r, 404, "itemNotFound") == f"No such QoS spec {qid}."


async def test_admin_only(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    r = await admin.get(QOS, headers=auth(token))
    assert_fault(r, 403, "forbidden")
    r = await admin.post(QOS, json={"qos_specs": {"name": "n"}}, headers=auth(token))
    assert_fault(r, 403, "forbidden")


async def test_associations_show_in_the_type(admin: httpx.AsyncClient) -> None:
    fast = await _type(admin, "fast")
    slow = await _type(admin, "slow")
    spec = await _qos(admin, "limits", consumer="front-end", total_bytes_sec="1000")
    other = await _qos(admin, "other")
    r = await admin.get(f"{QOS}/{spec['id']}/associate", params={"vol_type_id": fast["id"]})
    assert r.status_code == 202
    r = await admin.get(f"{QOS}/{spec['id']}/associate", params={"vol_type_id": slow["id"]})
    assert r.status_code == 202
    r = await admin.get(f"{QOS}/{other['id']}/associate", params={"vol_type_id": fast["id"]})
    assert "already associated" in assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{QOS}/{spec['id']}/associate")
    assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{QOS}/{spec['id']}/associate", params={"vol_type_id": "nope"})
    assert_fault(r, 404, "itemNotFound")

    r = await admin.get(f"{V3}/types/{fast['id']}")
    assert r.json()["volume_type"]["qos_specs_id"] == spec["id"]
    r = await admin.get(f"{QOS}/{spec['id']}/associations")
    assert r.json() == {
        "qos_associations": [
            {"association_type": "volume_type", "name": "fast", "id": fast["id"]},
            {"association_type": "volume_type", "name": "slow", "id": slow["id"]},
        ]
    }
    svc = admin._transport.app.state.runtime.service("volume").svc  # type: ignore[attr-defined]
    async with svc.db.session() as s:
        assert await qos.qos_for_type(s, fast["id"]) == {"total_bytes_sec": "1000"}
    r = await admin.put(f"{QOS}/{spec['id']}", json={"qos_specs": {"consumer": "back-end"}})
    assert r.status_code == 200
    async with svc.db.session() as s:
        assert await qos.qos_for_type(s, fast["id"]) == {}

    # In use: plain delete refuses, force dissociates.
    r = await admin.delete(f"{QOS}/{spec['id']}")
    assert assert_fault(r, 400, "badRequest") == "Qos specs still in use."
    r = await admin.get(f"{QOS}/{spec['id']}/disassociate", params={"vol_type_id": slow["id"]})
    assert r.status_code == 202
    r = await admin.get(f"{QOS}/{spec['id']}/associations")
    assert [a["id"] for a in r.json()["qos_associations"]] == [fast["id"]]
    r = await admin.get(f"{QOS}/{spec['id']}/disassociate_all")
    assert r.status_code == 202
    r = await admin.get(f"{V3}/types/{fast['id']}")
    assert r.json()["volume_type"]["qos_specs_id"] is None
    r = await admin.get(f"{QOS}/{spec['id']}/associate", params={"vol_type_id": fast["id"]})
    assert r.status_code == 202
    r = await admin.delete(f"{QOS}/{spec['id']}", params={"force": "True"})
    assert r.status_code == 202
    r = await admin.get(f"{V3}/types/{fast['id']}")
    assert r.json()["volume_type"]["qos_specs_id"] is None
