"""os-interface: ports attached to and detached from running servers, with Nova's answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from stackling.settings import Settings
from tests.conftest import make_settings
from tests.functional.network.support import V20, create, network_with_subnet
from tests.support.identity import project_member
from tests.support.servers import (
    V21,
    action,
    assert_nova_fault,
    boot,
    boot_image,
    mv,
    show,
    wait_status,
)

MISSING = "8d3b6b5e-6c0e-4b84-9a51-5d7e8c0f3b11"


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Every service of a single-host cloud (fake hosts, no network agent)."""
    return make_settings(
        tmp_path / "data",
        database={"url": db_url},
        services=["identity", "placement", "image", "compute", "network"],
    )


@pytest.fixture
async def image_id(admin: httpx.AsyncClient, tmp_path: Path) -> str:
    """A public bootable image."""
    return await boot_image(admin, tmp_path)


def _url(server_id: str, port_id: str | None = None) -> str:
    base = f"{V21}/servers/{server_id}/os-interface"
    return base if port_id is None else f"{base}/{port_id}"


async def _attach(
    c: httpx.AsyncClient, server_id: str, version: str = "2.1", **fields: Any
) -> httpx.Response:
    return await c.post(_url(server_id), json={"interfaceAttachment": fields}, headers=mv(version))


async def _listed(c: httpx.AsyncClient, server_id: str) -> list[dict[str, Any]]:
    r = await c.get(_url(server_id))
    assert r.status_code == 200, r.text
    return list(r.json()["interfaceAttachments"])


async def _nic_count(c: httpx.AsyncClient, server_id: str) -> int:
    """NICs the (fake) hypervisor has for the guest, from its diagnostics."""
    r = await c.get(f"{V21}/servers/{server_id}/diagnostics", headers=mv("2.48"))
    assert r.status_code == 200, r.text
    return int(r.json()["num_nics"])


async def _addresses(c: httpx.AsyncClient, server_id: str, count: int) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            addresses = (await show(c, server_id))["addresses"]
            if sum(len(v) for v in addresses.values()) == count:
                return dict(addresses)
            await asyncio.sleep(0.05)


async def _server(admin: httpx.AsyncClient, image_id: str, net_id: str) -> str:
    sid = await boot(admin, image_id, networks=[{"uuid": net_id}])
    await wait_status(admin, sid, "ACTIVE")
    return sid


async def test_attach_by_network_then_detach_deletes_the_port(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    net, sub = await network_with_subnet(admin, cidr="10.30.0.0/24")
    sid = await _server(admin, image_id, net["id"])
    [first] = await _listed(admin, sid)
    assert first["net_id"] == net["id"] and await _nic_count(admin, sid) == 1

    r = await _attach(admin, sid, net_id=net["id"])
    assert r.status_code == 200, r.text
    attached = r.json()["interfaceAttachment"]
    assert attached["net_id"] == net["id"] and attached["port_id"] != first["port_id"]
    [ip] = attached["fixed_ips"]
    assert ip["subnet_id"] == sub["id"] and ip["ip_address"].startswith("10.30.0.")
    assert set(attached) == {"net_id", "port_id", "mac_addr", "port_state", "fixed_ips"}
    port = (await admin.get(f"{V20}/ports/{attached['port_id']}")).json()["port"]
    assert port["device_id"] == sid and port["device_owner"] == "compute:nova"
    assert port["binding:host_id"] and port["mac_address"] == attached["mac_addr"]
    assert {i["port_id"] for i in await _listed(admin, sid)} == {
        first["port_id"],
        attached["port_id"],
    }
    assert await _nic_count(admin, sid) == 2
    addresses = await _addresses(admin, sid, 2)
    assert {a["addr"] for a in addresses["net"]} >= {ip["ip_address"]}

    r = await admin.get(_url(sid, attached["port_id"]))
    assert r.status_code == 200 and r.json()["interfaceAttachment"] == attached

    r = await admin.delete(_url(sid, attached["port_id"]))
    assert r.status_code == 202, r.text
    assert [i["port_id"] for i in await _listed(admin, sid)] == [first["port_id"]]
    assert (await admin.get(f"{V20}/ports/{attached['port_id']}")).status_code == 404
    assert await _nic_count(admin, sid) == 1
    await _addresses(admin, sid, 1)


async def test_a_given_port_is_kept_after_detach_and_moves_to_another_server(
    admin: httpx.AsyncClient, image_id: str
) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.31.0.0/24")
    one = await _server(admin, image_id, net["id"])
    two = await _server(admin, image_id, net["id"])
    port = await create(admin, "port", network_id=net["id"], name="roaming")

    r = await _attach(admin, one, port_id=port["id"])
    assert r.status_code == 200, r.text
    assert r.json()["interfaceAttachment"]["port_id"] == port["id"]
    # In use now: the other server cannot have it.
    assert_nova_fault(await _attach(admin, two, port_id=port["id"]), 409, "conflictingRequest")

    assert (await admin.delete(_url(one, port["id"]))).status_code == 202
    kept = (await admin.get(f"{V20}/ports/{port['id']}")).json()["port"]
    assert kept["device_id"] == "" and kept["binding:host_id"] == ""
    r = await _attach(admin, two, port_id=port["id"])
    assert r.status_code == 200, r.text
    assert port["id"] in {i["port_id"] for i in await _listed(admin, two)}
    assert port["id"] not in {i["port_id"] for i in await _listed(admin, one)}

    # Deleting the server gives the port back, as a port given at boot.
    assert (await admin.delete(f"{V21}/servers/{two}")).status_code == 204
    for _ in range(200):
        after = (await admin.get(f"{V20}/ports/{port['id']}")).json()["port"]
        if not after["device_id"]:
            break
        await asyncio.sleep(0.05)
    assert after["device_id"] == "" and after["binding:host_id"] == ""


async def test_attach_with_a_fixed_ip_and_a_tag(admin: httpx.AsyncClient, image_id: str) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.32.0.0/24")
    sid = await _server(admin, image_id, net["id"])
    wanted = [{"ip_address": "10.32.0.77"}]
    r = await _attach(admin, sid, "2.70", net_id=net["id"], fixed_ips=wanted, tag="data")
    assert r.status_code == 200, r.text
    attached = r.json()["interfaceAttachment"]
    assert attached["fixed_ips"][0]["ip_address"] == "10.32.0.77"
    assert attached["tag"] == "data"
    r = await admin.get(_url(sid), headers=mv("2.70"))
    tags = {i["port_id"]: i["tag"] for i in r.json()["interfaceAttachments"]}
    assert tags[attached["port_id"]] == "data" and list(tags.values()).count(None) == 1
    # The address is taken now.
    r = await _attach(admin, sid, net_id=net["id"], fixed_ips=wanted)
    assert "10.32.0.77" in assert_nova_fault(r, 409)["message"]


async def test_bad_requests_get_novas_answers(admin: httpx.AsyncClient, image_id: str) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.33.0.0/24")
    sid = await _server(admin, image_id, net["id"])
    port = await create(admin, "port", network_id=net["id"])
    r = await _attach(admin, sid, net_id=net["id"], port_id=port["id"])
    assert assert_nova_fault(r, 400)["message"] == "Must not input both network_id and port_id"
    r = await _attach(admin, sid, fixed_ips=[{"ip_address": "10.33.0.9"}])
    assert "Must input network_id" in assert_nova_fault(r, 400)["message"]
    for body in (
        {"net_id": "not-a-uuid"},
        {"net_id": net["id"], "fixed_ips": [{"ip_address": "nope"}]},
        {"net_id": net["id"], "fixed_ips": "10.33.0.9"},
        {"net_id": net["id"], "color": "red"},
        {"net_id": net["id"], "tag": "too-early"},  # tags start at 2.49
    ):
        assert_nova_fault(await _attach(admin, sid, **body), 400, "badRequest")
    r = await admin.post(_url(sid), json={"interfaceAttachment": [], "x": 1})
    assert_nova_fault(r, 400, "badRequest")
    r = await _attach(admin, sid, net_id=MISSING)
    assert assert_nova_fault(r, 404, "itemNotFound")["message"] == (
        f"Network {MISSING} could not be found."
    )
    assert_nova_fault(await _attach(admin, sid, port_id=MISSING), 404, "itemNotFound")
    bare = await create(admin, "network", name="bare")
    assert (
        "requires a subnet"
        in assert_nova_fault(await _attach(admin, sid, net_id=bare["id"]), 400)["message"]
    )
    # Two networks with subnets and none named: Nova cannot choose.
    await network_with_subnet(admin, cidr="10.34.0.0/24")
    r = await _attach(admin, sid)
    assert assert_nova_fault(r, 400)["message"].startswith("Multiple possible networks found")
    assert_nova_fault(await admin.delete(_url(sid, port["id"])), 404, "itemNotFound")
    assert_nova_fault(await admin.get(_url(sid, port["id"])), 404, "itemNotFound")
    assert_nova_fault(await admin.get(_url(MISSING)), 404, "itemNotFound")
    assert len(await _listed(admin, sid)) == 1  # nothing above attached anything


async def test_state_lock_and_other_projects(admin: httpx.AsyncClient, image_id: str) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.35.0.0/24")
    sid = await _server(admin, image_id, net["id"])
    # Stopped servers take NICs too (into their definition).
    assert (await action(admin, sid, {"os-stop": None})).status_code == 202
    await wait_status(admin, sid, "SHUTOFF")
    r = await _attach(admin, sid, net_id=net["id"])
    assert r.status_code == 200, r.text
    assert await _nic_count(admin, sid) == 2
    assert (await action(admin, sid, {"shelve": None})).status_code == 202
    await wait_status(admin, sid, {"SHELVED", "SHELVED_OFFLOADED"})
    r = await _attach(admin, sid, net_id=net["id"])
    assert "while it is in vm_state shelved" in assert_nova_fault(r, 409)["message"]

    # Another project sees neither the server nor its interfaces.
    _, _, token = await project_member(admin)
    other = {"X-Auth-Token": token}
    assert_nova_fault(await admin.get(_url(sid), headers=other), 404)
    r = await admin.post(_url(sid), json={"interfaceAttachment": {}}, headers=other)
    assert_nova_fault(r, 404)


async def test_a_locked_server_refuses_its_owner(admin: httpx.AsyncClient, image_id: str) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.36.0.0/24")
    _, _, token = await project_member(admin)
    r = await admin.put(f"{V20}/networks/{net['id']}", json={"network": {"shared": True}})
    assert r.status_code == 200, r.text
    sid = await boot(admin, image_id, token, networks=[{"uuid": net["id"]}])
    await wait_status(admin, sid, "ACTIVE", token)
    assert (await action(admin, sid, {"lock": None})).status_code == 202
    r = await admin.post(
        _url(sid), json={"interfaceAttachment": {"net_id": net["id"]}}, headers=mv("2.1", token)
    )
    assert_nova_fault(r, 409, "conflictingRequest")
    [only] = await _listed(admin, sid)
    r = await admin.delete(_url(sid, only["port_id"]), headers=mv("2.1", token))
    assert_nova_fault(r, 409, "conflictingRequest")
