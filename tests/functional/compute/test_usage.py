"""Usage reports (os-simple-tenant-usage) over servers booted on the fake driver."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.identity import project_member
from tests.support.servers import (
    V21,
    assert_nova_fault,
    boot,
    boot_image,
    mv,
    wait_gone,
    wait_status,
)

FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def _at(server: dict[str, Any], shift_hours: float) -> str:
    launched = dt.datetime.strptime(server["OS-SRV-USG:launched_at"], FORMAT)
    return (launched + dt.timedelta(hours=shift_hours)).strftime(FORMAT)


@pytest.fixture
async def image_id(admin: httpx.AsyncClient, tmp_path: Path) -> str:
    """A public bootable image."""
    return await boot_image(admin, tmp_path)


async def test_usage_of_a_running_server(admin: httpx.AsyncClient, image_id: str) -> None:
    project, _, token = await project_member(admin)
    sid = await boot(admin, image_id, token, name="counted")
    server = await wait_status(admin, sid, "ACTIVE", token)
    # A window from an hour before launch to two hours after: two hours of use.
    params = {"start": _at(server, -1), "end": _at(server, 2)}
    r = await admin.get(
        f"{V21}/os-simple-tenant-usage/{project['id']}", params=params, headers=mv("2.1", token)
    )
    assert r.status_code == 200, r.text
    usage = r.json()["tenant_usage"]
    assert usage["tenant_id"] == project["id"]
    assert usage["total_hours"] == pytest.approx(2.0)
    assert usage["total_vcpus_usage"] == pytest.approx(2.0)
    assert usage["total_memory_mb_usage"] == pytest.approx(256.0)
    assert usage["total_local_gb_usage"] == pytest.approx(2.0)
    assert usage["start"].startswith(params["start"][:19])
    [one] = usage["server_usages"]
    assert one["instance_id"] == sid and one["name"] == "counted" and one["flavor"] == "s1.nano"
    assert (one["vcpus"], one["memory_mb"], one["local_gb"]) == (1, 128, 1)
    assert one["state"] == "active" and one["ended_at"] is None
    assert one["started_at"] == server["OS-SRV-USG:launched_at"]
    assert isinstance(one["uptime"], int) and one["uptime"] >= 0
    # A window that ends before the launch sees nothing.
    early = {"start": _at(server, -3), "end": _at(server, -2)}
    r = await admin.get(
        f"{V21}/os-simple-tenant-usage/{project['id']}", params=early, headers=mv("2.1", token)
    )
    assert r.json() == {"tenant_usage": {}}


async def test_deleted_servers_still_count(admin: httpx.AsyncClient, image_id: str) -> None:
    project, _, token = await project_member(admin)
    sid = await boot(admin, image_id, token)
    server = await wait_status(admin, sid, "ACTIVE", token)
    assert (await admin.delete(f"{V21}/servers/{sid}", headers=mv("2.1", token))).status_code == 204
    await wait_gone(admin, sid, token)
    params = {"start": _at(server, -1), "end": _at(server, 5), "detailed": "1"}
    r = await admin.get(f"{V21}/os-simple-tenant-usage", params=params)
    [usage] = [u for u in r.json()["tenant_usages"] if u["tenant_id"] == project["id"]]
    [one] = usage["server_usages"]
    assert one["state"] == "terminated" and one["ended_at"]
    ended = dt.datetime.strptime(one["ended_at"], FORMAT)
    started = dt.datetime.strptime(one["started_at"], FORMAT)
    assert one["hours"] == pytest.approx((ended - started).total_seconds() / 3600)
    assert one["hours"] < 1
    assert one["uptime"] == int((ended - started).total_seconds())
    # Without detailed=1 the list leaves the servers out.
    del params["detailed"]
    r = await admin.get(f"{V21}/os-simple-tenant-usage", params=params)
    assert all("server_usages" not in u for u in r.json()["tenant_usages"])


async def test_pages_from_2_40(admin: httpx.AsyncClient, image_id: str) -> None:
    project, _, token = await project_member(admin)
    sids = [await boot(admin, image_id, token, name=f"p{n}") for n in range(3)]
    servers = [await wait_status(admin, sid, "ACTIVE", token) for sid in sids]
    start = min(_at(s, -1) for s in servers)
    end = max(_at(s, 1) for s in servers)
    url = f"{V21}/os-simple-tenant-usage/{project['id']}"
    seen: list[str] = []
    params: dict[str, Any] = {"start": start, "end": end, "limit": 2}
    r = await admin.get(url, params=params, headers=mv("2.40"))
    first = r.json()
    seen += [u["instance_id"] for u in first["tenant_usage"]["server_usages"]]
    assert len(seen) == 2 and "marker=" in first["tenant_usage_links"][0]["href"]
    r = await admin.get(url, params={**params, "marker": seen[-1]}, headers=mv("2.40"))
    rest = r.json()
    seen += [u["instance_id"] for u in rest["tenant_usage"]["server_usages"]]
    assert sorted(seen) == sorted(sids) and "tenant_usage_links" not in rest
    r = await admin.get(
        f"{V21}/os-simple-tenant-usage", params={**params, "detailed": "1"}, headers=mv("2.40")
    )
    assert "tenant_usages_links" in r.json()
    r = await admin.get(url, params={**params, "marker": "nope"}, headers=mv("2.40"))
    assert_nova_fault(r, 400)
    # Before 2.40 the paging parameters mean nothing: every server comes back at once.
    r = await admin.get(url, params=params, headers=mv("2.39"))
    assert len(r.json()["tenant_usage"]["server_usages"]) == 3


async def test_access_and_bad_periods(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    other, _, _ = await project_member(admin)
    member = mv("2.1", token)
    assert_nova_fault(await admin.get(f"{V21}/os-simple-tenant-usage", headers=member), 403)
    r = await admin.get(f"{V21}/os-simple-tenant-usage/{other['id']}", headers=member)
    assert_nova_fault(r, 403)
    r = await admin.get(f"{V21}/os-simple-tenant-usage/{project['id']}", headers=member)
    assert r.status_code == 200 and r.json() == {"tenant_usage": {}}
    bad = {"start": "2020-01-02T00:00:00", "end": "2020-01-01T00:00:00"}
    fault = assert_nova_fault(await admin.get(f"{V21}/os-simple-tenant-usage", params=bad), 400)
    assert fault["message"] == "Invalid start time. The start time cannot occur after the end time."
    r = await admin.get(f"{V21}/os-simple-tenant-usage", params={"start": "yesterday"})
    assert_nova_fault(r, 400)
    r = await admin.get(
        f"{V21}/os-simple-tenant-usage",
        params={"start": "2020-01-01 00:00:00.000000", "end": "2020-01-01T01:00:00.5"},
    )
    assert r.status_code == 200 and r.json() == {"tenant_usages": []}
    r = await admin.get(f"{V21}/os-simple-tenant-usage", params={"x": "1"}, headers=mv("2.75"))
    assert_nova_fault(r, 400)
