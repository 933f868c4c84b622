"""os-migrations over resized servers, and a server's live migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.support.identity import project_member
from tests.support.servers import (
    V21,
    action,
    assert_nova_fault,
    boot,
    boot_image,
    mv,
    wait_status,
)

V21_KEYS = {
    "id", "status", "instance_uuid", "source_node", "source_compute", "dest_node",
    "dest_compute", "dest_host", "old_instance_type_id", "new_instance_type_id",
    "created_at", "updated_at",
}  # fmt: skip


async def _migrations(
    c: httpx.AsyncClient, version: str = "2.1", **params: Any
) -> list[dict[str, Any]]:
    r = await c.get(f"{V21}/os-migrations", params=params, headers=mv(version))
    assert r.status_code == 200, r.text
    return list(r.json()["migrations"])


async def _resized(c: httpx.AsyncClient, image_id: str, token: str, flavor: str, end: str) -> str:
    """A server resized to `flavor`, then confirmed or reverted (`end`)."""
    sid = await boot(c, image_id, token)
    await wait_status(c, sid, "ACTIVE", token)
    r = await action(c, sid, {"resize": {"flavorRef": flavor}}, token)
    assert r.status_code == 202, r.text
    await wait_status(c, sid, "VERIFY_RESIZE", token)
    assert (await action(c, sid, {end: None}, token)).status_code in (202, 204)
    await wait_status(c, sid, "ACTIVE", token)
    return sid


async def test_resizes_are_listed(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    image_id = await boot_image(admin, tmp_path)
    _, _, token = await project_member(admin)
    kept = await _resized(admin, image_id, token, "1", "confirmResize")
    undone = await _resized(admin, image_id, token, "1", "revertResize")
    found = await _migrations(admin)
    assert [m["instance_uuid"] for m in found] == [kept, undone]
    first, second = found
    assert set(first) == V21_KEYS
    assert (first["status"], second["status"]) == ("confirmed", "reverted")
    assert first["source_compute"] == first["dest_compute"]
    node = (await admin.get(f"{V21}/os-hypervisors/detail")).json()["hypervisors"][0]
    assert first["dest_host"] == node["host_ip"]
    old, new = first["old_instance_type_id"], first["new_instance_type_id"]
    assert isinstance(old, int) and isinstance(new, int) and old != new
    assert first["created_at"] and first["updated_at"]
    assert [m["instance_uuid"] for m in await _migrations(admin, instance_uuid=undone)] == [undone]
    assert [m["instance_uuid"] for m in await _migrations(admin, status="confirmed")] == [kept]
    assert len(await _migrations(admin, host=first["source_compute"])) == 2
    assert len(await _migrations(admin, source_compute=first["source_compute"])) == 2
    assert await _migrations(admin, host="elsewhere") == []
    assert await _migrations(admin, migration_type="live-migration") == []
    # Before 2.59 unknown parameters are ignored, as Nova's schema allows them.
    assert len(await _migrations(admin, whatever="1")) == 2
    typed = await _migrations(admin, "2.23")
    assert typed[0]["migration_type"] == "resize" and "links" not in typed[0]
    _, _, other = await project_member(admin)
    assert_nova_fault(await admin.get(f"{V21}/os-migrations", headers=mv("2.1", other)), 403)


async def test_paging_and_newer_fields(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    image_id = await boot_image(admin, tmp_path)
    project, user, token = await project_member(admin)
    older = await _resized(admin, image_id, token, "1", "confirmResize")
    newer = await _resized(admin, image_id, token, "1", "confirmResize")
    latest = await _migrations(admin, "2.80")
    assert [m["instance_uuid"] for m in latest] == [newer, older]
    assert latest[0]["user_id"] == user["id"] and latest[0]["project_id"] == project["id"]
    assert len(latest[0]["uuid"]) == 36
    assert "user_id" not in (await _migrations(admin, "2.79"))[0]
    r = await admin.get(f"{V21}/os-migrations", params={"limit": 1}, headers=mv("2.59"))
    page = r.json()
    assert [m["instance_uuid"] for m in page["migrations"]] == [newer]
    [link] = page["migrations_links"]
    assert f"marker={latest[0]['uuid']}" in link["href"]
    rest = await _migrations(admin, "2.59", marker=latest[0]["uuid"])
    assert [m["instance_uuid"] for m in rest] == [older]
    assert await _migrations(admin, "2.59", **{"changes-since": "2999-01-01T00:00:00Z"}) == []
    since = latest[1]["updated_at"]
    assert len(await _migrations(admin, "2.59", **{"changes-since": since})) == 2
    assert len(await _migrations(admin, "2.80", project_id=project["id"])) == 2
    assert await _migrations(admin, "2.80", user_id="someone-else") == []
    for version, params in (
        ("2.59", {"marker": "not-there"}),
        ("2.59", {"whatever": "1"}),
        ("2.59", {"user_id": user["id"]}),
        ("2.59", {"changes-since": "yesterday"}),
        ("2.59", {"limit": "-1"}),
        ("2.66", {"changes-since": "2020-01-02T00:00:00Z", "changes-before": "2020-01-01"}),
    ):
        r = await admin.get(f"{V21}/os-migrations", params=params, headers=mv(version))
        assert_nova_fault(r, 400)


async def test_a_deleted_flavor_has_no_id(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    image_id = await boot_image(admin, tmp_path)
    r = await admin.post(
        f"{V21}/flavors",
        json={"flavor": {"name": "short-lived", "ram": 128, "vcpus": 1, "disk": 1, "id": "77"}},
    )
    assert r.status_code == 200, r.text
    sid = await boot(admin, image_id, flavorRef="77")
    await wait_status(admin, sid, "ACTIVE")
    assert (await admin.delete(f"{V21}/flavors/77")).status_code == 202
    assert (await action(admin, sid, {"resize": {"flavorRef": "1"}})).status_code == 202
    await wait_status(admin, sid, "VERIFY_RESIZE")
    [found] = await _migrations(admin)
    assert found["old_instance_type_id"] is None and isinstance(found["new_instance_type_id"], int)


async def test_live_migrations_of_a_server(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    image_id = await boot_image(admin, tmp_path)
    sid = await boot(admin, image_id)
    await wait_status(admin, sid, "ACTIVE")
    url = f"{V21}/servers/{sid}/migrations"
    r = await admin.get(url, headers=mv("2.23"))
    assert r.status_code == 200 and r.json() == {"migrations": []}
    fault = assert_nova_fault(await admin.get(f"{url}/1", headers=mv("2.23")), 404)
    assert fault["message"] == f"In-progress live migration 1 is not found for server {sid}."
    assert_nova_fault(await admin.get(url, headers=mv("2.22")), 404)
    missing = f"{V21}/servers/00000000-0000-4000-8000-000000000000/migrations"
    assert_nova_fault(await admin.get(missing, headers=mv("2.23")), 404)
    _, _, token = await project_member(admin)
    assert_nova_fault(await admin.get(url, headers=mv("2.23", token)), 403)
