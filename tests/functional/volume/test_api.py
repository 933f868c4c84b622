"""Versions, microversions, types and extra specs, quotas, limits, zones and isolation."""

from __future__ import annotations

import asyncio

import httpx

from tests.functional.volume.support import V3, assert_fault, auth, create_volume, settle
from tests.support.identity import project_member


async def test_version_documents(client: httpx.AsyncClient) -> None:
    r = await client.get("/volume/")
    assert r.status_code == 300
    (doc,) = r.json()["versions"]
    assert doc["id"] == "v3.0" and doc["min_version"] == "3.0" and doc["version"] == "3.70"
    assert doc["media-types"][0]["type"] == "application/vnd.openstack.volume+json;version=3"
    r = await client.get("/volume/v3/")
    assert r.status_code == 200 and r.json()["versions"][0]["status"] == "CURRENT"


async def test_microversion_negotiation(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/volumes", headers=auth(None, "3.60"))
    assert r.headers["OpenStack-API-Version"] == "volume 3.60"
    r = await admin.get(f"{V3}/volumes", headers=auth(None, "latest"))
    assert r.headers["OpenStack-API-Version"] == "volume 3.70"
    r = await admin.get(f"{V3}/volumes", headers={"OpenStack-API-Version": "compute 2.90"})
    assert r.headers["OpenStack-API-Version"] == "volume 3.0"
    r = await admin.get(f"{V3}/volumes", headers=auth(None, "3.99"))
    assert "maximum is 3.70" in assert_fault(r, 406, "computeFault")
    r = await admin.get(f"{V3}/volumes", headers=auth(None, "3.x"))
    assert "invalid format" in assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{V3}/volumes", headers={"X-Auth-Token": "bogus"})
    assert_fault(r, 401, "unauthorized")


async def test_types_and_extra_specs(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V3}/types/default")
    default = r.json()["volume_type"]
    assert default["name"] == "__DEFAULT__" and default["is_public"] is True
    r = await admin.post(
        f"{V3}/types", json={"volume_type": {"name": "fast", "extra_specs": {"tier": "ssd"}}}
    )
    assert r.status_code == 200, r.text
    fast = r.json()["volume_type"]
    assert fast["extra_specs"] == {"tier": "ssd"}
    assert fast["os-volume-type-access:is_public"] is True
    # As Cinder's (and Tempest's schemas), a create or update answer shows no QoS link.
    assert "qos_specs_id" not in fast
    r = await admin.put(f"{V3}/types/{fast['id']}", json={"volume_type": {"description": "d"}})
    assert r.status_code == 200 and "qos_specs_id" not in r.json()["volume_type"]
    assert "os-volume-type-access:is_public" not in r.json()["volume_type"]
    r = await admin.post(f"{V3}/types", json={"volume_type": {"name": "fast"}})
    assert_fault(r, 409, "conflictingRequest")
    r = await admin.post(f"{V3}/types", json={"volume_type": {"name": " "}})
    assert_fault(r, 400, "badRequest")
    url = f"{V3}/types/{fast['id']}/extra_specs"
    r = await admin.post(url, json={"extra_specs": {"multiattach": "<is> True"}})
    assert r.json() == {"extra_specs": {"multiattach": "<is> True"}}
    r = await admin.get(url)
    assert r.json()["extra_specs"] == {"tier": "ssd", "multiattach": "<is> True"}
    r = await admin.put(f"{url}/tier", json={"tier": "nvme"})
    assert r.json() == {"tier": "nvme"}
    r = await admin.put(f"{url}/tier", json={"other": "x"})
    assert "mismatch" in assert_fault(r, 400, "badRequest")
    r = await admin.get(f"{url}/tier")
    assert r.json() == {"tier": "nvme"}
    r = await admin.delete(f"{url}/tier")
    assert r.status_code == 202
    r = await admin.get(f"{url}/tier")
    assert_fault(r, 404, "itemNotFound")
    vol = await create_volume(admin, volume_type="fast")
    assert vol["volume_type"] == "fast"
    r = await admin.delete(f"{V3}/types/{fast['id']}")
    assert "in use" in assert_fault(r, 400, "badRequest")
    r = await admin.delete(f"{V3}/types/{default['id']}")
    assert_fault(r, 400, "badRequest")
    r = await admin.put(f"{V3}/types/{fast['id']}", json={"volume_type": {"description": "d"}})
    assert r.json()["volume_type"]["description"] == "d"
    _, _, token = await project_member(admin)
    r = await admin.post(f"{V3}/types", json={"volume_type": {"name": "x"}}, headers=auth(token))
    assert_fault(r, 403, "forbidden")
    r = await admin.get(f"{V3}/types", headers=auth(token))
    names = [t["name"] for t in r.json()["volume_types"]]
    assert names == ["__DEFAULT__", "fast"]
    assert "extra_specs" not in r.json()["volume_types"][0]
    r = await admin.get(f"{url}", headers=auth(token))
    assert r.json()["extra_specs"] == {"multiattach": "<is> True"}


async def test_quotas_limits_and_zones(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    pid = project["id"]
    r = await admin.get(f"{V3}/os-quota-sets/{pid}")
    qs = r.json()["quota_set"]
    assert qs["volumes"] == 10 and qs["gigabytes"] == 1000 and qs["snapshots"] == 10
    assert qs["volumes___DEFAULT__"] == -1 and qs["id"] == pid
    r = await admin.put(
        f"{V3}/os-quota-sets/{pid}", json={"quota_set": {"volumes": 2, "gigabytes": 5}}
    )
    assert r.json()["quota_set"]["volumes"] == 2
    r = await admin.put(f"{V3}/os-quota-sets/{pid}", json={"quota_set": {"bogus": 1}})
    assert_fault(r, 400, "badRequest")
    r = await admin.put(
        f"{V3}/os-quota-sets/{pid}", json={"quota_set": {"volumes": 3}}, headers=auth(token)
    )
    assert_fault(r, 403, "forbidden")
    await create_volume(admin, token, size=4)
    r = await admin.post(f"{V3}/volumes", json={"volume": {"size": 2}}, headers=auth(token))
    message = assert_fault(r, 413, "overLimit")
    assert "gigabytes quota" in message and r.json()["overLimit"]["retryAfter"] == "0"
    await create_volume(admin, token, size=1)
    r = await admin.post(f"{V3}/volumes", json={"volume": {"size": 1}}, headers=auth(token))
    assert "Maximum number of volumes allowed (2)" in assert_fault(r, 413, "overLimit")
    r = await admin.get(f"{V3}/os-quota-sets/{pid}", params={"usage": "True"}, headers=auth(token))
    assert r.json()["quota_set"]["volumes"] == {"limit": 2, "in_use": 2, "reserved": 0}
    assert r.json()["quota_set"]["gigabytes"]["in_use"] == 5
    r = await admin.get(f"{V3}/limits", headers=auth(token))
    absolute = r.json()["limits"]["absolute"]
    assert absolute["maxTotalVolumes"] == 2 and absolute["totalVolumesUsed"] == 2
    assert absolute["totalGigabytesUsed"] == 5
    r = await admin.get(f"{V3}/os-quota-sets/{pid}/defaults", headers=auth(token))
    assert r.json()["quota_set"]["volumes"] == 10
    r = await admin.get(f"{V3}/os-availability-zone", headers=auth(token))
    assert r.json() == {
        "availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True}}]
    }


async def test_concurrent_creates_never_pass_the_quota(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.put(f"{V3}/os-quota-sets/{project['id']}", json={"quota_set": {"volumes": 20}})
    assert r.status_code == 200

    async def one() -> int:
        r = await admin.post(f"{V3}/volumes", json={"volume": {"size": 1}}, headers=auth(token))
        return r.status_code

    codes = await asyncio.gather(*(one() for _ in range(50)))
    assert codes.count(202) == 20 and codes.count(413) == 30
    r = await admin.get(f"{V3}/volumes", headers=auth(token))
    assert len(r.json()["volumes"]) == 20


async def test_projects_are_isolated(admin: httpx.AsyncClient) -> None:
    _, _, alice = await project_member(admin)
    _, _, bob = await project_member(admin)
    _, _, reader = await project_member(admin, role="reader")
    vol = await create_volume(admin, alice, name="alice's")
    assert "os-vol-host-attr:host" not in vol
    r = await admin.get(f"{V3}/volumes/{vol['id']}", headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.delete(f"{V3}/volumes/{vol['id']}", headers=auth(bob))
    assert_fault(r, 404, "itemNotFound")
    r = await admin.get(f"{V3}/volumes", params={"all_tenants": "1"}, headers=auth(bob))
    assert r.json()["volumes"] == []
    r = await admin.post(
        f"{V3}/volumes/{vol['id']}/action",
        json={"os-reset_status": {"status": "error"}},
        headers=auth(alice),
    )
    assert_fault(r, 403, "forbidden")
    r = await admin.post(f"{V3}/volumes", json={"volume": {"size": 1}}, headers=auth(reader))
    assert_fault(r, 403, "forbidden")
    r = await admin.get(f"{V3}/volumes")
    assert r.json()["volumes"] == []
    r = await admin.get(f"{V3}/volumes", params={"all_tenants": "1"})
    assert [v["id"] for v in r.json()["volumes"]] == [vol["id"]]
    r = await admin.get(f"{V3}/volumes/{vol['id']}")
    assert r.status_code == 200
    await settle(admin, vol["id"])
