"""Ports: addresses, MACs, binding, security, address pairs, DHCP options, updates."""

from __future__ import annotations

from typing import Any

import httpx

from tests.functional.network.support import V20, assert_fault, auth, create, network_with_subnet
from tests.support.identity import project_member


async def _port(c: httpx.AsyncClient, token: str | None = None, **fields: Any) -> httpx.Response:
    return await c.post(f"{V20}/ports", json={"port": fields}, headers=auth(token))


async def test_addresses_by_subnet_and_by_address(admin: httpx.AsyncClient) -> None:
    net, sub = await network_with_subnet(admin, cidr="10.20.0.0/24")
    first = await create(admin, "port", network_id=net["id"])
    assert first["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.20.0.2"}]
    assert first["status"] == "DOWN" and first["device_owner"] == ""
    assert first["mac_address"].startswith("fa:16:3e:")
    chosen = await create(
        admin, "port", network_id=net["id"], fixed_ips=[{"ip_address": "10.20.0.77"}]
    )
    assert chosen["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.20.0.77"}]
    both = await create(
        admin,
        "port",
        network_id=net["id"],
        fixed_ips=[{"subnet_id": sub["id"]}, {"subnet_id": sub["id"]}],
    )
    assert [ip["ip_address"] for ip in both["fixed_ips"]] == ["10.20.0.3", "10.20.0.4"]
    none = await create(admin, "port", network_id=net["id"], fixed_ips=[])
    assert none["fixed_ips"] == []
    for fixed, status, kind in (
        ([{"ip_address": "10.20.0.77"}], 409, "IpAddressInUse"),
        ([{"ip_address": "10.21.0.5"}], 400, "InvalidIpForNetwork"),
        ([{"subnet_id": sub["id"], "ip_address": "10.99.0.5"}], 400, "InvalidIpForSubnet"),
        ([{"ip_address": "10.20.0.255"}], 400, "InvalidIpForSubnet"),
        ([{"subnet_id": "0b0e1a5e-0000-4000-8000-000000000000"}], 400, "InvalidInput"),
        ([{"ip_address": "10.20.0.9"}, {"ip_address": "10.20.0.9"}], 400, "HTTPBadRequest"),
        ([{"ip_address": "nope"}], 400, "HTTPBadRequest"),
    ):
        assert_fault(await _port(admin, network_id=net["id"], fixed_ips=fixed), status, kind)
    # The address of a deleted port is free again.
    await admin.delete(f"{V20}/ports/{first['id']}")
    again = await create(admin, "port", network_id=net["id"])
    assert again["fixed_ips"][0]["ip_address"] == "10.20.0.2"


async def test_exhausted_subnet(admin: httpx.AsyncClient) -> None:
    net, _ = await network_with_subnet(admin, cidr="10.22.0.0/29")
    made = [await create(admin, "port", network_id=net["id"]) for _ in range(5)]
    assert [p["fixed_ips"][0]["ip_address"] for p in made] == [f"10.22.0.{i}" for i in range(2, 7)]
    fault = assert_fault(
        await _port(admin, network_id=net["id"]), 409, "IpAddressGenerationFailure"
    )
    assert fault["message"] == f"No more IP addresses available on network {net['id']}."


async def test_mac_addresses(admin: httpx.AsyncClient) -> None:
    net, _ = await network_with_subnet(admin)
    port = await create(admin, "port", network_id=net["id"], mac_address="FA:16:3E:AA:BB:CC")
    assert port["mac_address"] == "fa:16:3e:aa:bb:cc"
    r = await _port(admin, network_id=net["id"], mac_address="fa:16:3e:aa:bb:cc")
    assert_fault(r, 409, "MacAddressInUse")
    # The same MAC on another network is fine.
    other, _ = await network_with_subnet(admin)
    await create(admin, "port", network_id=other["id"], mac_address="fa:16:3e:aa:bb:cc")
    for bad in ("fa:16:3e:aa:bb", "01:00:5e:00:00:01", "zz:16:3e:aa:bb:cc"):
        assert_fault(await _port(admin, network_id=net["id"], mac_address=bad), 400)
    r = await admin.put(
        f"{V20}/ports/{port['id']}", json={"port": {"mac_address": "fa:16:3e:00:00:01"}}
    )
    assert r.status_code == 200 and r.json()["port"]["mac_address"] == "fa:16:3e:00:00:01"


async def test_binding_is_admin_only(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    net, _ = await network_with_subnet(admin, token)
    for attr, value in (("binding:host_id", "host-1"), ("binding:profile", {"a": 1})):
        fault = assert_fault(await _port(admin, token, network_id=net["id"], **{attr: value}), 403)
        assert fault["type"] == "PolicyNotAuthorized"
    port = await create(
        admin, "port", token, network_id=net["id"], **{"binding:vnic_type": "normal"}
    )
    assert port["binding:vnic_type"] == "normal"
    hidden = {"binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details"}
    assert not hidden & set(port)
    r = await admin.put(f"{V20}/ports/{port['id']}", json={"port": {"binding:host_id": "host-1"}})
    assert r.status_code == 200, r.text
    bound = r.json()["port"]
    assert bound["binding:host_id"] == "host-1" and bound["binding:vif_type"] == "bridge"
    assert bound["binding:vif_details"]["port_filter"] is True
    # A bound port's MAC is fixed.
    r = await admin.put(
        f"{V20}/ports/{port['id']}", json={"port": {"mac_address": "fa:16:3e:00:00:02"}}
    )
    assert_fault(r, 409, "PortBound")
    r = await admin.get(f"{V20}/ports/{port['id']}", headers=auth(token))
    assert not hidden & set(r.json()["port"])
    r = await admin.get(f"{V20}/ports", params={"binding:host_id": "host-1"})
    assert [p["id"] for p in r.json()["ports"]] == [port["id"]]


async def test_security_groups_pairs_and_dhcp_options(admin: httpx.AsyncClient) -> None:
    net, _ = await network_with_subnet(admin)
    sg = await create(admin, "security_group", name="web")
    port = await create(
        admin,
        "port",
        network_id=net["id"],
        security_groups=[sg["id"]],
        allowed_address_pairs=[
            {"ip_address": "10.0.0.200/32"},
            {"ip_address": "10.0.0.201", "mac_address": "fa:16:3e:01:02:03"},
        ],
        extra_dhcp_opts=[{"opt_name": "bootfile-name", "opt_value": "pxe.0"}],
    )
    assert port["security_groups"] == [sg["id"]]
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.0.0.200/32", "mac_address": port["mac_address"]},
        {"ip_address": "10.0.0.201", "mac_address": "fa:16:3e:01:02:03"},
    ]
    assert port["extra_dhcp_opts"] == [
        {"opt_name": "bootfile-name", "opt_value": "pxe.0", "ip_version": 4}
    ]
    plain = await create(admin, "port", network_id=net["id"])
    groups = (await admin.get(f"{V20}/security-groups", params={"name": "default"})).json()
    assert plain["security_groups"] == [groups["security_groups"][0]["id"]]
    url = f"{V20}/ports/{port['id']}"
    r = await admin.put(
        url,
        json={
            "port": {
                "extra_dhcp_opts": [
                    {"opt_name": "bootfile-name", "opt_value": None},
                    {"opt_name": "tftp-server", "opt_value": "10.0.0.1"},
                ]
            }
        },
    )
    assert r.json()["port"]["extra_dhcp_opts"] == [
        {"opt_name": "tftp-server", "opt_value": "10.0.0.1", "ip_version": 4}
    ]
    r = await admin.put(url, json={"port": {"port_security_enabled": False}})
    assert_fault(r, 409, "PortSecurityPortHasSecurityGroup")
    r = await admin.put(
        url,
        json={
            "port": {
                "port_security_enabled": False,
                "security_groups": [],
                "allowed_address_pairs": [],
            }
        },
    )
    assert r.status_code == 200, r.text
    off = r.json()["port"]
    assert off["port_security_enabled"] is False and off["security_groups"] == []
    r = await _port(
        admin, network_id=net["id"], port_security_enabled=False, security_groups=[sg["id"]]
    )
    assert_fault(r, 400, "PortSecurityAndIPRequiredForSecurityGroups")
    r = await _port(
        admin,
        network_id=net["id"],
        port_security_enabled=False,
        allowed_address_pairs=[{"ip_address": "10.0.0.9"}],
    )
    assert_fault(r, 409, "AddressPairAndPortSecurityRequired")
    r = await _port(
        admin, network_id=net["id"], security_groups=["5a1f7e65-0000-4000-8000-000000000000"]
    )
    assert_fault(r, 404, "SecurityGroupNotFound")
    r = await admin.delete(f"{V20}/security_groups/{sg['id']}")
    assert_fault(r, 404)
    # A group ports use cannot be deleted.
    r = await _port(admin, network_id=net["id"], security_groups=[sg["id"]])
    assert r.status_code == 201
    assert_fault(await admin.delete(f"{V20}/security-groups/{sg['id']}"), 409, "SecurityGroupInUse")


async def test_update_fixed_ips_keeps_what_is_still_asked(admin: httpx.AsyncClient) -> None:
    net, sub = await network_with_subnet(admin, cidr="10.30.0.0/24")
    port = await create(admin, "port", network_id=net["id"])
    url = f"{V20}/ports/{port['id']}"
    r = await admin.put(
        url, json={"port": {"fixed_ips": [{"ip_address": "10.30.0.2"}, {"subnet_id": sub["id"]}]}}
    )
    assert r.status_code == 200, r.text
    assert [ip["ip_address"] for ip in r.json()["port"]["fixed_ips"]] == ["10.30.0.2", "10.30.0.3"]
    assert r.json()["port"]["revision_number"] == 1
    r = await admin.put(url, json={"port": {"fixed_ips": [{"ip_address": "10.30.0.50"}]}})
    assert [ip["ip_address"] for ip in r.json()["port"]["fixed_ips"]] == ["10.30.0.50"]
    # What was released can be taken by another port.
    other = await create(admin, "port", network_id=net["id"])
    assert other["fixed_ips"][0]["ip_address"] == "10.30.0.2"
    r = await admin.get(f"{V20}/ports", params={"fixed_ips": "ip_address=10.30.0.50"})
    assert [p["id"] for p in r.json()["ports"]] == [port["id"]]
    r = await admin.get(
        f"{V20}/ports", params={"fixed_ips": [f"subnet_id={sub['id']}", "ip_address=10.30.0.2"]}
    )
    assert [p["id"] for p in r.json()["ports"]] == [other["id"]]
    assert_fault(await admin.get(f"{V20}/ports", params={"fixed_ips": "mac=1"}), 400)
    r = await admin.put(
        url, json={"port": {"name": "x", "device_id": "vm-1", "device_owner": "compute:nova"}}
    )
    assert r.json()["port"]["device_id"] == "vm-1"
    r = await admin.get(f"{V20}/ports", params={"device_id": "vm-1"})
    assert [p["id"] for p in r.json()["ports"]] == [port["id"]]


async def test_network_owner_rules(admin: httpx.AsyncClient) -> None:
    shared = await create(admin, "network", shared=True)
    sub = await create(admin, "subnet", network_id=shared["id"], ip_version=4, cidr="10.40.0.0/24")
    _, _, token = await project_member(admin)
    # Any member may plug into a shared network and pick the subnet...
    port = await create(
        admin, "port", token, network_id=shared["id"], fixed_ips=[{"subnet_id": sub["id"]}]
    )
    assert port["fixed_ips"][0]["subnet_id"] == sub["id"]
    # ...but only the network's owner chooses addresses, MACs or network:* owners.
    for fields in (
        {"fixed_ips": [{"ip_address": "10.40.0.99"}]},
        {"mac_address": "fa:16:3e:99:99:99"},
        {"device_owner": "network:dhcp"},
        {"port_security_enabled": False},
    ):
        r = await _port(admin, token, network_id=shared["id"], **fields)
        assert_fault(r, 403, "PolicyNotAuthorized")
    # Nor may it add subnets to the shared network.
    r = await admin.post(
        f"{V20}/subnets",
        headers=auth(token),
        json={"subnet": {"network_id": shared["id"], "ip_version": 4, "cidr": "10.41.0.0/24"}},
    )
    assert_fault(r, 403, "PolicyNotAuthorized")
