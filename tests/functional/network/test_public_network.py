"""The `public` network a new cloud starts with, made once."""

from __future__ import annotations

from pathlib import Path

from stackling.settings import Settings
from tests.conftest import issue_token, make_settings, running_client
from tests.functional.network.support import V20


def _settings(tmp_path: Path, db_url: str, **network: object) -> Settings:
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "network"],
        network={"public_network_cidr": "172.24.4.0/24", **network},
    )


async def _external(settings: Settings) -> tuple[list[dict], list[dict]]:
    async with running_client(settings) as c:
        c.headers["X-Auth-Token"] = await issue_token(c)
        nets = (await c.get(f"{V20}/networks", params={"router:external": True})).json()
        subs = (await c.get(f"{V20}/subnets")).json()
    return nets["networks"], subs["subnets"]


async def test_a_new_cloud_has_public_once(tmp_path: Path, db_url: str) -> None:
    settings = _settings(tmp_path, db_url)
    nets, subs = await _external(settings)
    [public] = nets
    assert public["name"] == "public" and public["router:external"] is True
    assert public["provider:network_type"] == "flat"
    assert public["provider:physical_network"] == "public"
    assert public["shared"] is False
    [sub] = [s for s in subs if s["network_id"] == public["id"]]
    assert sub["cidr"] == "172.24.4.0/24" and sub["gateway_ip"] == "172.24.4.1"
    assert sub["enable_dhcp"] is False
    again, _ = await _external(settings)
    assert [n["id"] for n in again] == [public["id"]]


async def test_no_cidr_no_public(tmp_path: Path, db_url: str) -> None:
    nets, _ = await _external(_settings(tmp_path, db_url, public_network_cidr=""))
    assert nets == []
