"""Server groups through the Nova API: policies per microversion, quotas, project isolation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.identity import project_member
from tests.support.servers import V21, assert_nova_fault, boot_image, mv, wait_status


async def _create(
    c: httpx.AsyncClient, version: str = "2.1", token: str | None = None, **fields: Any
) -> httpx.Response:
    group: dict[str, Any] = {"name": "grp", **fields}
    if "policies" not in group and "policy" not in group:
        if tuple(map(int, version.split("."))) >= (2, 64):
            group["policy"] = "anti-affinity"
        else:
            group["policies"] = ["anti-affinity"]
    return await c.post(
        f"{V21}/os-server-groups", json={"server_group": group}, headers=mv(version, token)
    )


async def _made(c: httpx.AsyncClient, version: str = "2.1", **fields: Any) -> dict[str, Any]:
    r = await _create(c, version, **fields)
    assert r.status_code == 200, r.text
    return dict(r.json()["server_group"])


async def test_views_per_microversion(admin: httpx.AsyncClient) -> None:
    old = await _made(admin, "2.1", policies=["affinity"])
    assert old == {
        "id": old["id"], "name": "grp", "policies": ["affinity"], "members": [], "metadata": {},
    }  # fmt: skip
    r = await admin.get(f"{V21}/os-server-groups/{old['id']}", headers=mv("2.13"))
    shown = r.json()["server_group"]
    assert shown["project_id"] and shown["user_id"] and shown["policies"] == ["affinity"]
    r = await admin.get(f"{V21}/os-server-groups/{old['id']}", headers=mv("2.64"))
    latest = r.json()["server_group"]
    assert latest["policy"] == "affinity" and latest["rules"] == {}
    assert "policies" not in latest and "metadata" not in latest
    new = await _made(admin, "2.64", name="spread", rules={"max_server_per_host": 3})
    assert new["policy"] == "anti-affinity" and new["rules"] == {"max_server_per_host": 3}
    r = await admin.get(f"{V21}/os-server-groups/{new['id']}", headers=mv("2.1"))
    assert r.json()["server_group"]["policies"] == ["anti-affinity"]


async def test_soft_policies_from_2_15(admin: httpx.AsyncClient) -> None:
    assert_nova_fault(await _create(admin, "2.14", policies=["soft-affinity"]), 400)
    assert (await _create(admin, "2.15", policies=["soft-affinity"])).status_code == 200
    assert (await _create(admin, "2.64", policy="soft-anti-affinity")).status_code == 200


@pytest.mark.parametrize(
    ("version", "fields"),
    [
        ("2.1", {"policies": []}),
        ("2.1", {"policies": ["affinity", "anti-affinity"]}),
        ("2.1", {"policies": "affinity"}),
        ("2.1", {"policies": ["together"]}),
        ("2.1", {"name": ""}),
        ("2.1", {"name": " padded"}),
        ("2.1", {"policy": "affinity"}),
        ("2.1", {"rules": {}}),
        ("2.64", {"policies": ["affinity"]}),
        ("2.64", {"policy": "together"}),
        ("2.64", {"policy": "affinity", "rules": {"max_server_per_host": 2}}),
        ("2.64", {"rules": {"max_server_per_host": 0}}),
        ("2.64", {"rules": {"max_server_per_host": "many"}}),
        ("2.64", {"rules": {"min_server_per_host": 1}}),
        ("2.64", {"rules": []}),
        ("2.64", {"colour": "red"}),
    ],
)
async def test_create_refuses_bad_bodies(
    admin: httpx.AsyncClient, version: str, fields: dict[str, Any]
) -> None:
    assert_nova_fault(await _create(admin, version, **fields), 400, "badRequest")


async def test_rules_only_for_anti_affinity(admin: httpx.AsyncClient) -> None:
    r = await _create(admin, "2.64", policy="soft-affinity", rules={"max_server_per_host": 2})
    fault = assert_nova_fault(r, 400)
    assert fault["message"] == "Only anti-affinity policy supports rules."


async def test_create_needs_a_server_group(admin: httpx.AsyncClient) -> None:
    assert_nova_fault(await admin.post(f"{V21}/os-server-groups", json={"name": "x"}), 400)
    body = {"server_group": {"name": "x"}}
    assert_nova_fault(await admin.post(f"{V21}/os-server-groups", json=body), 400)


async def test_delete_then_gone(admin: httpx.AsyncClient) -> None:
    group = await _made(admin)
    r = await admin.delete(f"{V21}/os-server-groups/{group['id']}")
    assert r.status_code == 204
    fault = assert_nova_fault(await admin.get(f"{V21}/os-server-groups/{group['id']}"), 404)
    assert fault["message"] == f"Instance group {group['id']} could not be found."
    assert_nova_fault(await admin.delete(f"{V21}/os-server-groups/{group['id']}"), 404)


async def test_groups_belong_to_their_project(admin: httpx.AsyncClient) -> None:
    _, _, token_a = await project_member(admin)
    _, _, token_b = await project_member(admin)
    r = await _create(admin, "2.13", token_a)
    assert r.status_code == 200, r.text
    gid = r.json()["server_group"]["id"]
    url = f"{V21}/os-server-groups/{gid}"
    assert_nova_fault(await admin.get(url, headers=mv("2.1", token_b)), 404)
    assert_nova_fault(await admin.delete(url, headers=mv("2.1", token_b)), 404)
    r = await admin.get(f"{V21}/os-server-groups", headers=mv("2.1", token_b))
    assert r.json() == {"server_groups": []}
    # all_projects means nothing to a member...
    r = await admin.get(
        f"{V21}/os-server-groups", params={"all_projects": "1"}, headers=mv("2.1", token_b)
    )
    assert r.json() == {"server_groups": []}
    # ...but shows every project's groups to an admin.
    assert (await admin.get(f"{V21}/os-server-groups")).json() == {"server_groups": []}
    r = await admin.get(f"{V21}/os-server-groups", params={"all_projects": "True"})
    assert [g["id"] for g in r.json()["server_groups"]] == [gid]
    assert (await admin.get(url)).status_code == 200
    r = await admin.get(f"{V21}/os-server-groups", headers=mv("2.1", token_a))
    assert [g["id"] for g in r.json()["server_groups"]] == [gid]
    assert (await admin.delete(url, headers=mv("2.1", token_a))).status_code == 204


async def test_readers_cannot_create(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin, role="reader")
    assert_nova_fault(await _create(admin, "2.1", token), 403)


async def test_limit_and_offset(admin: httpx.AsyncClient) -> None:
    ids = [(await _made(admin, name=f"g{n}"))["id"] for n in range(4)]
    r = await admin.get(f"{V21}/os-server-groups", params={"limit": 2, "offset": 1})
    assert [g["id"] for g in r.json()["server_groups"]] == ids[1:3]
    r = await admin.get(f"{V21}/os-server-groups", params={"limit": 0})
    assert [g["id"] for g in r.json()["server_groups"]] == ids
    assert_nova_fault(await admin.get(f"{V21}/os-server-groups", params={"limit": "-2"}), 400)
    r = await admin.get(f"{V21}/os-server-groups", params={"bogus": 1}, headers=mv("2.75"))
    assert_nova_fault(r, 400)


async def test_server_groups_quota(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.put(
        f"{V21}/os-quota-sets/{project['id']}", json={"quota_set": {"server_groups": 1}}
    )
    assert r.status_code == 200, r.text
    assert (await _create(admin, "2.1", token)).status_code == 200
    fault = assert_nova_fault(await _create(admin, "2.1", token, name="two"), 403, "forbidden")
    assert fault["message"] == "Quota exceeded, too many server groups."
    r = await admin.get(f"{V21}/limits", headers=mv("2.1", token))
    assert r.json()["limits"]["absolute"]["totalServerGroupsUsed"] == 1


async def test_members_and_their_quota(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    image_id = await boot_image(admin, tmp_path)
    project, _, token = await project_member(admin)
    r = await admin.put(
        f"{V21}/os-quota-sets/{project['id']}", json={"quota_set": {"server_group_members": 1}}
    )
    assert r.status_code == 200, r.text
    r = await _create(admin, "2.64", token, policy="soft-affinity")
    gid = r.json()["server_group"]["id"]

    async def boot_in_group(name: str) -> httpx.Response:
        body = {
            "server": {"name": name, "imageRef": image_id, "flavorRef": "100"},
            "os:scheduler_hints": {"group": gid},
        }
        return await admin.post(f"{V21}/servers", json=body, headers=mv("2.1", token))

    r = await boot_in_group("first")
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    await wait_status(admin, sid, "ACTIVE", token)
    fault = assert_nova_fault(await boot_in_group("second"), 403, "forbidden")
    assert fault["message"] == "Quota exceeded, too many servers in group"
    r = await admin.get(f"{V21}/os-server-groups/{gid}", headers=mv("2.1", token))
    assert r.json()["server_group"]["members"] == [sid]
    # Someone else's group is no group at all to a boot.
    _, _, other = await project_member(admin)
    body = {
        "server": {"name": "x", "imageRef": image_id, "flavorRef": "100"},
        "os:scheduler_hints": {"group": gid},
    }
    r = await admin.post(f"{V21}/servers", json=body, headers=mv("2.1", other))
    assert_nova_fault(r, 400)
