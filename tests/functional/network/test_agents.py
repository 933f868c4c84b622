"""The agents resource: admins see each host's agent, alive or not; others see none."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from stackling.app import build_app
from stackling.network import models as m
from stackling.settings import Settings
from tests.conftest import issue_token
from tests.functional.network.support import V20, assert_fault
from tests.support.identity import project_member


@pytest.fixture
async def cloud(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The admin's client and the network service, with two agents registered."""
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as admin:
            admin.headers["X-Auth-Token"] = await issue_token(admin)
            svc = app.state.runtime.service("network").svc
            old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)

            async def _add(s: Any) -> None:
                for host, beat in (("host-a", m.now()), ("host-b", old)):
                    s.add(
                        m.Agent(
                            id=f"00000000-0000-4000-8000-00000000000{(host[-1] == 'b' and 2) or 1}",
                            agent_type="Linux bridge agent",
                            binary="stackling-network-agent",
                            topic=f"network.agent.{host}",
                            host=host,
                            configurations={"tunneling_ip": "127.0.0.1"},
                            heartbeat_timestamp=beat,
                        )
                    )

            await svc.tx(_add)
            yield admin, svc


async def test_admins_list_show_update_and_delete(
    cloud: tuple[httpx.AsyncClient, Any],
) -> None:
    admin, _ = cloud
    r = await admin.get(f"{V20}/agents", params={"sort_key": "host", "sort_dir": "asc"})
    assert r.status_code == 200, r.text
    agents = r.json()["agents"]
    assert [(a["host"], a["alive"]) for a in agents] == [("host-a", True), ("host-b", False)]
    first = agents[0]
    assert first["agent_type"] == "Linux bridge agent" and first["admin_state_up"] is True
    assert first["configurations"] == {"tunneling_ip": "127.0.0.1"}
    assert dt.datetime.strptime(first["heartbeat_timestamp"], "%Y-%m-%d %H:%M:%S")
    r = await admin.get(f"{V20}/agents", params={"host": "host-b"})
    assert [a["host"] for a in r.json()["agents"]] == ["host-b"]
    r = await admin.put(
        f"{V20}/agents/{first['id']}",
        json={"agent": {"admin_state_up": False, "description": "maintenance"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["agent"]["admin_state_up"] is False
    assert r.json()["agent"]["description"] == "maintenance"
    assert_fault(await admin.put(f"{V20}/agents/{first['id']}", json={"agent": {"host": "x"}}), 400)
    assert_fault(await admin.post(f"{V20}/agents", json={"agent": {}}), 400)
    assert (await admin.delete(f"{V20}/agents/{agents[1]['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V20}/agents/{agents[1]['id']}"), 404, "AgentNotFound")


async def test_members_see_no_agent(cloud: tuple[httpx.AsyncClient, Any]) -> None:
    admin, _ = cloud
    _, _, token = await project_member(admin)
    r = await admin.get(f"{V20}/agents", headers={"X-Auth-Token": token})
    assert r.status_code == 200 and r.json() == {"agents": []}
    some = "00000000-0000-4000-8000-000000000001"
    headers = {"X-Auth-Token": token}
    assert_fault(await admin.get(f"{V20}/agents/{some}", headers=headers), 404)
    r = await admin.put(
        f"{V20}/agents/{some}", json={"agent": {"admin_state_up": False}}, headers=headers
    )
    assert r.status_code == 404
    assert (await admin.delete(f"{V20}/agents/{some}", headers=headers)).status_code == 404
