"""Quota class sets: the `default` class changes every project's defaults."""

from __future__ import annotations

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, create_volume
from tests.support.identity import project_member

CLASSES = f"{V3}/os-quota-class-sets"


async def test_default_class_sets_the_defaults(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.get(f"{CLASSES}/default")
    assert r.status_code == 200
    shown = r.json()["quota_class_set"]
    assert shown["id"] == "default" and shown["volumes"] == 10 and shown["gigabytes"] == 1000
    assert shown["volumes___DEFAULT__"] == -1

    r = await admin.put(f"{CLASSES}/default", json={"quota_class_set": {"volumes": 1}})
    assert r.status_code == 200, r.text
    assert r.json()["quota_class_set"]["volumes"] == 1
    assert r.json()["quota_class_set"]["gigabytes"] == 1000
    r = await admin.get(f"{V3}/os-quota-sets/{project['id']}")
    assert r.json()["quota_set"]["volumes"] == 1
    await create_volume(admin, token)
    r = await admin.post(f"{V3}/volumes", json={"volume": {"size": 1}}, headers=auth(token))
    assert "Maximum number of volumes allowed (1)" in assert_fault(r, 413, "overLimit")
    # A project's own limit still wins over the class.
    r = await admin.put(f"{V3}/os-quota-sets/{project['id']}", json={"quota_set": {"volumes": 2}})
    assert r.status_code == 200
    await create_volume(admin, token)


async def test_other_classes_leave_defaults_alone(admin: httpx.AsyncClient) -> None:
    project, _, _ = await project_member(admin)
    r = await admin.put(f"{CLASSES}/gold", json={"quota_class_set": {"gigabytes": 5}})
    assert r.status_code == 200
    r = await admin.get(f"{CLASSES}/gold")
    assert r.json()["quota_class_set"]["gigabytes"] == 5
    r = await admin.get(f"{V3}/os-quota-sets/{project['id']}")
    assert r.json()["quota_set"]["gigabytes"] == 1000


async def test_validation_and_policy(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    r = await admin.get(f"{CLASSES}/default", headers=auth(token))
    assert_fault(r, 403, "forbidden")
    r = await admin.put(
        f"{CLASSES}/default", json={"quota_class_set": {"volumes": 3}}, headers=auth(token)
    )
    assert_fault(r, 403, "forbidden")
    r = await admin.put(f"{CLASSES}/default", json={"quota_class_set": {"bogus": 1}})
    assert_fault(r, 400, "badRequest")
    r = await admin.put(f"{CLASSES}/default", json={"quota_class_set": {"volumes": -2}})
    assert_fault(r, 400, "badRequest")
    r = await admin.put(f"{CLASSES}/default", json={"volumes": 3})
    assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{CLASSES}/default")
    assert r.json()["quota_class_set"]["volumes"] == 10


async def test_class_sets_per_type_limits(admin: httpx.AsyncClient) -> None:
    project, _, _ = await project_member(admin)
    r = await admin.post(f"{V3}/types", json={"volume_type": {"name": "gold-tier"}})
    assert r.status_code == 200, r.text
    new = {
        "volumes": 11,
        "volumes_gold-tier": 3,
        "gigabytes_gold-tier": 7,
        "snapshots_gold-tier": 2,
    }
    r = await admin.put(f"{CLASSES}/default", json={"quota_class_set": new})
    assert r.status_code == 200, r.text
    shown = r.json()["quota_class_set"]
    assert {key: shown[key] for key in new} == new
    assert shown["volumes___DEFAULT__"] == -1
    r = await admin.get(f"{CLASSES}/default")
    assert {key: r.json()["quota_class_set"][key] for key in new} == new
    # Every project's defaults, and its quota set, follow the default class.
    r = await admin.get(f"{V3}/os-quota-sets/{project['id']}/defaults")
    assert {key: r.json()["quota_set"][key] for key in new} == new
    r = await admin.get(f"{V3}/os-quota-sets/{project['id']}")
    assert {key: r.json()["quota_set"][key] for key in new} == new
    r = await admin.get(f"{V3}/os-quota-sets/{project['id']}", params={"usage": "True"})
    assert r.json()["quota_set"]["volumes_gold-tier"]["limit"] == 3
    # Other classes keep their own.
    r = await admin.get(f"{CLASSES}/silver")
    assert r.json()["quota_class_set"]["volumes_gold-tier"] == -1
    # Only existing types have per-type keys.
    r = await admin.put(f"{CLASSES}/default", json={"quota_class_set": {"volumes_nosuch": 1}})
    assert_fault(r, 400, "badRequest")
    r = await admin.put(f"{CLASSES}/default", json={"quota_class_set": {"gigabytes_gold-tier": -2}})
    assert_fault(r, 400, "badRequest")
