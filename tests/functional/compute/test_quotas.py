"""Quota sets, quota classes and limits through the Nova API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.identity import project_member
from tests.support.servers import V21, assert_nova_fault, mv

CORE = {
    "instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100, "metadata_items": 128,
    "server_groups": 10, "server_group_members": 10,
}  # fmt: skip
INJECTED = {
    "injected_files": 5,
    "injected_file_content_bytes": 10240,
    "injected_file_path_bytes": 255,
}
NETWORK = {"fixed_ips": -1, "floating_ips": -1, "security_group_rules": -1, "security_groups": -1}


async def _put(
    c: httpx.AsyncClient,
    project_id: str,
    values: dict[str, Any],
    version: str = "2.1",
    **params: str,
) -> httpx.Response:
    return await c.put(
        f"{V21}/os-quota-sets/{project_id}",
        json={"quota_set": values},
        params=params,
        headers=mv(version),
    )


async def _group(c: httpx.AsyncClient, token: str, name: str = "g") -> None:
    body = {"server_group": {"name": name, "policies": ["affinity"]}}
    r = await c.post(f"{V21}/os-server-groups", json=body, headers=mv("2.1", token))
    assert r.status_code == 200, r.text


async def test_show_per_microversion(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    pid = project["id"]
    r = await admin.get(f"{V21}/os-quota-sets/{pid}", headers=mv("2.1", token))
    assert r.status_code == 200, r.text
    assert r.json() == {"quota_set": {"id": pid, **CORE, **INJECTED, **NETWORK}}
    r = await admin.get(f"{V21}/os-quota-sets/{pid}", headers=mv("2.36"))
    assert r.json() == {"quota_set": {"id": pid, **CORE, **INJECTED}}
    r = await admin.get(f"{V21}/os-quota-sets/{pid}", headers=mv("2.57"))
    assert r.json() == {"quota_set": {"id": pid, **CORE}}
    r = await admin.get(f"{V21}/os-quota-sets/{pid}/defaults", headers=mv("2.57", token))
    assert r.json() == {"quota_set": {"id": pid, **CORE}}


async def test_members_read_only_their_own_project(admin: httpx.AsyncClient) -> None:
    other, _, _ = await project_member(admin)
    _, _, token = await project_member(admin)
    member = mv("2.1", token)
    url = f"{V21}/os-quota-sets/{other['id']}"
    fault = assert_nova_fault(await admin.get(url, headers=member), 403, "forbidden")
    assert "os-quota-sets:show" in fault["message"]
    assert_nova_fault(await admin.get(f"{url}/detail", headers=member), 403)
    assert (await admin.get(f"{url}/defaults", headers=member)).status_code == 200
    assert_nova_fault(await admin.put(url, json={"quota_set": {"cores": 1}}, headers=member), 403)
    assert_nova_fault(await admin.delete(url, headers=member), 403)


async def test_detail_counts_usage(admin: httpx.AsyncClient) -> None:
    project, user, token = await project_member(admin)
    await _group(admin, token)
    key = {"keypair": {"name": "k"}}
    assert (await admin.post(f"{V21}/os-keypairs", json=key, headers=mv("2.1", token))).is_success
    r = await admin.get(f"{V21}/os-quota-sets/{project['id']}/detail", headers=mv("2.57", token))
    detail = r.json()["quota_set"]
    assert detail["id"] == project["id"]
    assert detail["server_groups"] == {"limit": 10, "in_use": 1, "reserved": 0}
    assert detail["instances"] == {"limit": 10, "in_use": 0, "reserved": 0}
    assert set(detail) == {"id", *CORE}
    r = await admin.get(
        f"{V21}/os-quota-sets/{project['id']}/detail",
        params={"user_id": user["id"]},
        headers=mv("2.57"),
    )
    assert r.json()["quota_set"]["key_pairs"]["in_use"] == 1


async def test_update_and_revert(admin: httpx.AsyncClient) -> None:
    project, user, token = await project_member(admin)
    pid = project["id"]
    r = await _put(admin, pid, {"cores": 4, "ram": "2048", "instances": -1}, "2.57")
    assert r.status_code == 200, r.text
    assert r.json() == {"quota_set": {**CORE, "cores": 4, "ram": 2048, "instances": -1}}
    r = await admin.get(f"{V21}/limits", headers=mv("2.57", token))
    absolute = r.json()["limits"]["absolute"]
    assert (absolute["maxTotalCores"], absolute["maxTotalInstances"]) == (4, -1)
    # Network quotas are accepted before 2.36 but remain the network service's business.
    r = await _put(admin, pid, {"floating_ips": 5, "injected_files": 2})
    assert r.status_code == 200 and r.json()["quota_set"]["floating_ips"] == -1
    assert r.json()["quota_set"]["injected_files"] == 2
    # A user's own limit may not pass its project's.
    r = await _put(admin, pid, {"cores": 5}, "2.57", user_id=user["id"])
    assert "less than or equal to 4" in assert_nova_fault(r, 400)["message"]
    r = await _put(admin, pid, {"cores": 2}, "2.57", user_id=user["id"])
    assert r.json()["quota_set"]["cores"] == 2
    r = await admin.get(
        f"{V21}/os-quota-sets/{pid}", params={"user_id": user["id"]}, headers=mv("2.57")
    )
    assert r.json()["quota_set"]["cores"] == 2
    assert (await admin.get(f"{V21}/os-quota-sets/{pid}", headers=mv("2.57"))).json()["quota_set"][
        "cores"
    ] == 4
    r = await admin.delete(f"{V21}/os-quota-sets/{pid}", params={"user_id": user["id"]})
    assert r.status_code == 202
    r = await admin.get(
        f"{V21}/os-quota-sets/{pid}", params={"user_id": user["id"]}, headers=mv("2.57")
    )
    assert r.json()["quota_set"]["cores"] == 4
    assert (await admin.delete(f"{V21}/os-quota-sets/{pid}")).status_code == 202
    r = await admin.get(f"{V21}/os-quota-sets/{pid}", headers=mv("2.57"))
    assert r.json()["quota_set"] == {"id": pid, **CORE}


async def test_limits_below_usage_need_force(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    await _group(admin, token, "one")
    await _group(admin, token, "two")
    fault = assert_nova_fault(await _put(admin, project["id"], {"server_groups": 1}), 400)
    assert fault["message"] == (
        "Quota limit 1 for server_groups must be greater than or equal to already used "
        "and reserved 2."
    )
    r = await _put(admin, project["id"], {"server_groups": 1, "force": True})
    assert r.status_code == 200 and r.json()["quota_set"]["server_groups"] == 1
    assert "force" not in r.json()["quota_set"]
    assert (await _put(admin, project["id"], {"server_groups": -1})).status_code == 200


@pytest.mark.parametrize(
    ("version", "values"),
    [
        ("2.1", {"cores": -2}),
        ("2.1", {"cores": "many"}),
        ("2.1", {"cores": 2**31}),
        ("2.1", {"cores": True}),
        ("2.1", {"cores": 1.5}),
        ("2.1", {"wheels": 4}),
        ("2.1", {"cores": 1, "force": "perhaps"}),
        ("2.36", {"floating_ips": 1}),
        ("2.57", {"injected_files": 1}),
    ],
)
async def test_update_refuses_bad_values(
    admin: httpx.AsyncClient, version: str, values: dict[str, Any]
) -> None:
    assert_nova_fault(await _put(admin, "some-project", values, version), 400, "badRequest")


async def test_update_needs_a_quota_set(admin: httpx.AsyncClient) -> None:
    r = await admin.put(f"{V21}/os-quota-sets/p", json={"cores": 1})
    assert_nova_fault(r, 400)
    r = await admin.put(f"{V21}/os-quota-sets/p", json={"quota_set": [1]})
    assert_nova_fault(r, 400)


async def test_unknown_query_parameters_refused_from_2_75(admin: httpx.AsyncClient) -> None:
    url = f"{V21}/os-quota-sets/p"
    assert (await admin.get(url, params={"x": "1"}, headers=mv("2.74"))).status_code == 200
    assert_nova_fault(await admin.get(url, params={"x": "1"}, headers=mv("2.75")), 400)


async def test_quota_classes(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V21}/os-quota-class-sets/default")
    old = r.json()["quota_class_set"]
    assert old["id"] == "default" and "server_groups" not in old and old["floating_ips"] == -1
    r = await admin.get(f"{V21}/os-quota-class-sets/default", headers=mv("2.50"))
    mid = r.json()["quota_class_set"]
    assert mid["server_groups"] == 10 and "floating_ips" not in mid and "injected_files" in mid
    r = await admin.put(
        f"{V21}/os-quota-class-sets/default",
        json={"quota_class_set": {"instances": 3, "server_groups": 2}},
        headers=mv("2.57"),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"quota_class_set": {**CORE, "instances": 3, "server_groups": 2}}
    project, _, token = await project_member(admin)
    r = await admin.get(f"{V21}/os-quota-sets/{project['id']}", headers=mv("2.57", token))
    assert r.json()["quota_set"]["instances"] == 3
    r = await admin.get(f"{V21}/os-quota-sets/any/defaults", headers=mv("2.57"))
    assert r.json()["quota_set"]["server_groups"] == 2
    # Other classes are stored and shown but change nobody's defaults.
    r = await admin.put(f"{V21}/os-quota-class-sets/gold", json={"quota_class_set": {"cores": 99}})
    assert r.status_code == 200 and r.json()["quota_class_set"]["cores"] == 99
    r = await admin.get(f"{V21}/os-quota-class-sets/gold", headers=mv("2.57"))
    assert r.json()["quota_class_set"]["cores"] == 99
    r = await admin.get(f"{V21}/os-quota-sets/{project['id']}", headers=mv("2.57"))
    assert r.json()["quota_set"]["cores"] == 20
    for version, values in (("2.1", {"server_groups": 1}), ("2.50", {"floating_ips": 1}),
                            ("2.57", {"injected_files": 1}), ("2.57", {"cores": -3})):  # fmt: skip
        r = await admin.put(
            f"{V21}/os-quota-class-sets/default",
            json={"quota_class_set": values},
            headers=mv(version),
        )
        assert_nova_fault(r, 400)
    _, _, member = await project_member(admin)
    assert_nova_fault(
        await admin.get(f"{V21}/os-quota-class-sets/default", headers=mv("2.1", member)), 403
    )


async def test_limits_per_microversion(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    await _group(admin, token)
    r = await admin.get(f"{V21}/limits", headers=mv("2.1", token))
    limits = r.json()["limits"]
    assert limits["rate"] == []
    absolute = limits["absolute"]
    assert absolute["maxTotalInstances"] == 10 and absolute["maxImageMeta"] == 128
    assert absolute["maxPersonality"] == 5 and absolute["maxSecurityGroups"] == -1
    assert absolute["totalServerGroupsUsed"] == 1 and absolute["totalInstancesUsed"] == 0
    keys = set(
        (await admin.get(f"{V21}/limits", headers=mv("2.36", token))).json()["limits"]["absolute"]
    )
    assert "maxSecurityGroups" not in keys and "maxImageMeta" in keys
    keys = set(
        (await admin.get(f"{V21}/limits", headers=mv("2.39", token))).json()["limits"]["absolute"]
    )
    assert "maxImageMeta" not in keys and "maxPersonality" in keys
    keys = set(
        (await admin.get(f"{V21}/limits", headers=mv("2.57", token))).json()["limits"]["absolute"]
    )
    assert keys == {
        "maxTotalInstances", "maxTotalCores", "maxTotalRAMSize", "maxServerMeta",
        "maxTotalKeypairs", "maxServerGroups", "maxServerGroupMembers", "totalInstancesUsed",
        "totalCoresUsed", "totalRAMUsed", "totalServerGroupsUsed",
    }  # fmt: skip
    # An admin may look at another project's limits; a member may not.
    r = await admin.get(f"{V21}/limits", params={"tenant_id": project["id"]})
    assert r.json()["limits"]["absolute"]["totalServerGroupsUsed"] == 1
    assert (await admin.get(f"{V21}/limits")).json()["limits"]["absolute"][
        "totalServerGroupsUsed"
    ] == 0
    _, _, other = await project_member(admin)
    r = await admin.get(
        f"{V21}/limits", params={"tenant_id": project["id"]}, headers=mv("2.1", other)
    )
    assert_nova_fault(r, 403)
    r = await admin.get(f"{V21}/limits", params={"x": "y"}, headers=mv("2.75"))
    assert_nova_fault(r, 400)
