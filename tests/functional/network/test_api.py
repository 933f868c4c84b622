"""Version discovery, extensions, the fault format and request body checks."""

from __future__ import annotations

import httpx
import pytest

from stackling.network.extensions import EXTENSIONS
from tests.functional.network.support import V20, assert_fault, create


async def test_version_discovery_needs_no_token(client: httpx.AsyncClient) -> None:
    for path in ("/networking", "/networking/"):
        r = await client.get(path)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "versions": [
                {
                    "id": "v2.0",
                    "status": "CURRENT",
                    "links": [{"href": "http://testserver/networking/v2.0/", "rel": "self"}],
                }
            ]
        }


async def test_v2_index_lists_the_core_resources(admin: httpx.AsyncClient) -> None:
    r = await admin.get(V20)
    assert r.status_code == 200, r.text
    found = {res["collection"]: res for res in r.json()["resources"]}
    assert set(found) == {"networks", "subnets", "subnetpools", "ports"}
    assert found["ports"]["name"] == "port"
    assert found["ports"]["links"] == [
        {"href": "http://testserver/networking/v2.0/ports", "rel": "self"}
    ]


async def test_extensions_are_exactly_the_implemented_ones(admin: httpx.AsyncClient) -> None:
    r = await admin.get(f"{V20}/extensions")
    assert r.status_code == 200
    aliases = {ext["alias"] for ext in r.json()["extensions"]}
    assert aliases == {ext.alias for ext in EXTENSIONS}
    # What is not implemented yet must not be claimed.
    assert not aliases & {"l3-ha", "dvr", "l3-flavors", "segment", "rbac-policies"}
    assert {"router", "extraroute", "ext-gw-mode"} <= aliases
    assert {"security-group", "standard-attr-tag", "filter-validation", "quotas"} <= aliases
    r = await admin.get(f"{V20}/extensions/provider")
    assert r.status_code == 200
    assert r.json()["extension"]["name"] == "Provider Network"
    assert set(r.json()["extension"]) == {"alias", "name", "description", "updated", "links"}
    fault = assert_fault(await admin.get(f"{V20}/extensions/dvr"), 404, "HTTPNotFound")
    assert fault["message"] == "Extension with alias dvr does not exist"


async def test_no_token_is_401_in_neutron_format(client: httpx.AsyncClient) -> None:
    assert_fault(await client.get(f"{V20}/networks"), 401, "HTTPUnauthorized")


async def test_unknown_url_and_method(admin: httpx.AsyncClient) -> None:
    fault = assert_fault(await admin.get(f"{V20}/wormholes"), 404, "HTTPNotFound")
    assert fault["message"] == "The resource could not be found."
    assert_fault(await admin.patch(f"{V20}/networks", json={}), 405, "HTTPMethodNotAllowed")
    # Rules cannot be updated.
    net = await create(admin, "security_group", name="sg")
    rule_id = net["security_group_rules"][0]["id"]
    r = await admin.put(f"{V20}/security_group_rules/{rule_id}", json={})
    assert_fault(r, 404)
    r = await admin.put(f"{V20}/security-group-rules/{rule_id}", json={})
    assert_fault(r, 405, "HTTPMethodNotAllowed")


async def test_missing_resources_are_typed_404s(admin: httpx.AsyncClient) -> None:
    missing = "1f8e3ba3-0000-4000-8000-000000000000"
    for collection, kind, message in (
        ("networks", "NetworkNotFound", f"Network {missing} could not be found."),
        ("subnets", "SubnetNotFound", f"Subnet {missing} could not be found."),
        ("ports", "PortNotFound", f"Port {missing} could not be found."),
        ("subnetpools", "SubnetPoolNotFound", f"Subnet pool {missing} could not be found."),
        ("security_groups", None, None),
        ("security-groups", "SecurityGroupNotFound", f"Security group {missing} does not exist"),
    ):
        r = await admin.get(f"{V20}/{collection}/{missing}")
        fault = assert_fault(r, 404, kind)
        if message is not None:
            assert fault["message"] == message
        if kind is not None:
            assert_fault(await admin.delete(f"{V20}/{collection}/{missing}"), 404, kind)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "The request body is empty; JSON was expected."),
        ({}, "Resource body required"),
        ([1], "Body contains invalid data"),
        ({"netwerk": {}}, "Unable to find 'network' in request body"),
        ({"network": "x"}, "Object 'network' contains invalid data"),
        ({"network": {"colour": "red"}}, "Unrecognized attribute(s) 'colour'"),
        ({"network": {"status": "DOWN"}}, "Attribute 'status' not allowed in POST"),
        (
            {"network": {"name": 5}},
            "Invalid input for name. Reason: '5' is not a valid string.",
        ),
        (
            {"network": {"name": "x" * 256}},
            f"Invalid input for name. Reason: '{'x' * 256}' exceeds maximum length of 255.",
        ),
        (
            {"network": {"mtu": 20}},
            "Invalid input for mtu. Reason: '20' is too small - must be at least '68'.",
        ),
    ],
)
async def test_bad_bodies_are_400(admin: httpx.AsyncClient, body: object, message: str) -> None:
    if body is None:
        r = await admin.post(f"{V20}/networks", content=b"")
    else:
        r = await admin.post(f"{V20}/networks", json=body)
    assert assert_fault(r, 400)["message"] == message


async def test_bad_values_name_the_attribute(admin: httpx.AsyncClient) -> None:
    r = await admin.post(f"{V20}/networks", json={"network": {"admin_state_up": "perhaps"}})
    fault = assert_fault(r, 400, "InvalidInput")
    assert (
        fault["message"] == "Invalid input for operation: 'perhaps' cannot be converted to boolean."
    )
    r = await admin.post(f"{V20}/subnets", json={"subnet": {"ip_version": 4}})
    fault = assert_fault(r, 400, "HTTPBadRequest")
    assert (
        fault["message"] == "Failed to parse request. Required attribute 'network_id' not specified"
    )
    r = await admin.post(
        f"{V20}/networks", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_fault(r, 400, "HTTPBadRequest")
    r = await admin.post(
        f"{V20}/networks", content=b"<x/>", headers={"Content-Type": "application/xml"}
    )
    assert_fault(r, 415)


async def test_read_only_attributes_refuse_updates(admin: httpx.AsyncClient) -> None:
    net = await create(admin, "network", name="n")
    r = await admin.put(f"{V20}/networks/{net['id']}", json={"network": {"status": "DOWN"}})
    assert assert_fault(r, 400)["message"] == "Cannot update read-only attribute status"
    r = await admin.put(f"{V20}/networks/{net['id']}", json={"network": {"tenant_id": "x"}})
    assert_fault(r, 400)


async def test_members_cannot_name_another_project(admin: httpx.AsyncClient) -> None:
    from tests.support.identity import project_member

    _, _, token = await project_member(admin)
    r = await admin.post(
        f"{V20}/networks",
        json={"network": {"name": "n", "project_id": "someone-else"}},
        headers={"X-Auth-Token": token},
    )
    fault = assert_fault(r, 400)
    assert "Specifying 'project_id' other than the authenticated project" in fault["message"]
    r = await admin.post(f"{V20}/networks", json={"network": {"project_id": "a", "tenant_id": "b"}})
    assert assert_fault(r, 400)["message"] == "'project_id' and 'tenant_id' do not match"
    # An admin may create for any project.
    made = await create(admin, "network", project_id="another-project")
    assert made["project_id"] == made["tenant_id"] == "another-project"
