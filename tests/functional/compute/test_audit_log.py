"""os-instance_usage_audit_log: counts of instances each host ran in a monthly period."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings
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

URL = f"{V21}/os-instance_usage_audit_log"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A cloud simulating two compute hosts."""
    return make_settings(
        tmp_path / "data", database={"url": db_url}, compute={"driver": "fake", "fake_hosts": 2}
    )


def _first_of_next_month(now: dt.datetime) -> dt.datetime:
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return dt.datetime(year, month, 1)


async def test_the_current_month_seen_from_its_end(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    image_id = await boot_image(admin, tmp_path)
    running = await boot(admin, image_id)
    host = (await wait_status(admin, running, "ACTIVE"))["OS-EXT-SRV-ATTR:host"]
    gone = await boot(admin, image_id, availability_zone=f"nova:{host}")
    await wait_status(admin, gone, "ACTIVE")
    assert (await admin.delete(f"{V21}/servers/{gone}")).status_code == 204
    await wait_gone(admin, gone)
    # A second into next month, the last completed period is this month.
    end = _first_of_next_month(dt.datetime.now(dt.UTC))
    r = await admin.get(f"{URL}/{quote((end + dt.timedelta(seconds=1)).isoformat(' '))}")
    assert r.status_code == 200, r.text
    log = r.json()["instance_usage_audit_log"]
    begin = dt.datetime(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1)
    assert (log["period_beginning"], log["period_ending"]) == (str(begin), str(end))
    other = next(h for h in log["log"] if h != host)
    assert log["log"][host] == {
        "state": "DONE",
        "instances": 2,
        "errors": 0,
        "message": log["log"][host]["message"],
    }
    assert log["log"][other]["instances"] == 0
    assert (log["num_hosts"], log["num_hosts_done"], log["num_hosts_not_run"]) == (2, 2, 0)
    assert (log["total_instances"], log["total_errors"], log["hosts_not_run"]) == (2, 0, [])
    assert log["overall_status"] == "ALL hosts done. 0 errors."
    # Exactly at the end of this month, this month is not yet complete.
    r = await admin.get(f"{URL}/{quote(end.isoformat(' ') + '.000000')}")
    assert r.json()["instance_usage_audit_log"]["period_ending"] == str(begin)
    # By now, the last complete period is last month: nothing ran then.
    r = await admin.get(URL)
    latest = r.json()["instance_usage_audit_logs"]
    assert latest["period_ending"] == str(begin) and latest["total_instances"] == 0


async def test_bad_times_and_non_admins(admin: httpx.AsyncClient) -> None:
    fault = assert_nova_fault(await admin.get(f"{URL}/invalid_time"), 400)
    assert fault["message"] == "Invalid timestamp for date invalid_time"
    assert_nova_fault(await admin.get(f"{URL}/{quote('2024-02-30 00:00:00')}"), 400)
    _, _, token = await project_member(admin)
    assert_nova_fault(await admin.get(URL, headers=mv("2.1", token)), 403)
    r = await admin.get(f"{URL}/{quote('2024-05-01 00:00:00')}", headers=mv("2.1", token))
    assert_nova_fault(r, 403)
