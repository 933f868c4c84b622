"""Security groups: the default group and its rules, rule validation, duplicates, deletion."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.functional.network.support import V20, assert_fault, auth, create
from tests.support.identity import project_member

RULES = f"{V20}/security-group-rules"


def _shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (
        rule["direction"],
        rule["ethertype"],
        rule["protocol"],
        rule["remote_group_id"],
        rule["remote_ip_prefix"],
        rule["port_range_min"],
        rule["port_range_max"],
    )


async def test_default_group_made_on_first_use(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.get(f"{V20}/security-groups", headers=auth(token))
    groups = r.json()["security_groups"]
    assert [g["name"] for g in groups] == ["default"]
    default = groups[0]
    assert default["project_id"] == project["id"] and default["stateful"] is True
    assert default["description"] == "Default security group"
    assert sorted(_shape(r) for r in default["security_group_rules"]) == sorted(
        [
            ("egress", "IPv4", None, None, None, None, None),
            ("egress", "IPv6", None, None, None, None, None),
            ("ingress", "IPv4", None, default["id"], None, None, None),
            ("ingress", "IPv6", None, default["id"], None, None, None),
        ]
    )
    # Listing again makes no second default group.
    r = await admin.get(f"{V20}/security-groups", headers=auth(token))
    assert [g["id"] for g in r.json()["security_groups"]] == [default["id"]]
    r = await admin.get(RULES, headers=auth(token))
    assert len(r.json()["security_group_rules"]) == 4
    # The default group keeps its name and only admins delete it.
    url = f"{V20}/security-groups/{default['id']}"
    r = await admin.put(url, json={"security_group": {"name": "other"}}, headers=auth(token))
    assert_fault(r, 409, "SecurityGroupCannotUpdateDefault")
    assert_fault(
        await admin.delete(url, headers=auth(token)), 409, "SecurityGroupCannotRemoveDefault"
    )
    r = await admin.post(
        f"{V20}/security-groups", json={"security_group": {"name": "Default"}}, headers=auth(token)
    )
    assert_fault(r, 409, "SecurityGroupDefaultAlreadyExists")
    assert (await admin.delete(url)).status_code == 204


async def test_new_groups_get_egress_rules(admin: httpx.AsyncClient) -> None:
    sg = await create(admin, "security_group", name="web", description="w", stateful=False)
    assert sg["stateful"] is False and sg["description"] == "w"
    assert sorted(_shape(r) for r in sg["security_group_rules"]) == [
        ("egress", "IPv4", None, None, None, None, None),
        ("egress", "IPv6", None, None, None, None, None),
    ]
    r = await admin.put(
        f"{V20}/security-groups/{sg['id']}", json={"security_group": {"name": "www"}}
    )
    assert r.json()["security_group"]["name"] == "www"
    assert r.json()["security_group"]["revision_number"] == 1


async def test_rules(admin: httpx.AsyncClient) -> None:
    sg = await create(admin, "security_group", name="r")
    other = await create(admin, "security_group", name="o")
    ssh = await create(
        admin,
        "security_group_rule",
        security_group_id=sg["id"],
        direction="ingress",
        protocol="TCP",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="192.168.0.0/16",
    )
    assert _shape(ssh) == ("ingress", "IPv4", "tcp", None, "192.168.0.0/16", 22, 22)
    assert ssh["security_group_id"] == sg["id"] and ssh["project_id"] == sg["project_id"]
    icmp6 = await create(
        admin,
        "security_group_rule",
        security_group_id=sg["id"],
        direction="ingress",
        protocol="58",
        ethertype="ipv6",
        port_range_min=128,
        remote_group_id=other["id"],
    )
    assert _shape(icmp6) == ("ingress", "IPv6", "58", other["id"], None, 128, None)
    # The same traffic spelled differently is the same rule.
    r = await admin.post(
        RULES,
        json={
            "security_group_rule": {
                "security_group_id": sg["id"],
                "direction": "ingress",
                "protocol": "6",
                "port_range_min": 22,
                "port_range_max": 22,
                "remote_ip_prefix": "192.168.0.0/16",
            }
        },
    )
    fault = assert_fault(r, 409, "SecurityGroupRuleExists")
    assert fault["message"] == f"Security group rule already exists. Rule id is {ssh['id']}."
    r = await admin.get(f"{V20}/security-groups/{sg['id']}")
    assert len(r.json()["security_group"]["security_group_rules"]) == 4
    r = await admin.get(RULES, params={"security_group_id": sg["id"], "direction": "ingress"})
    assert {x["id"] for x in r.json()["security_group_rules"]} == {ssh["id"], icmp6["id"]}
    assert (await admin.delete(f"{RULES}/{ssh['id']}")).status_code == 204
    assert_fault(await admin.get(f"{RULES}/{ssh['id']}"), 404, "SecurityGroupRuleNotFound")
    # Deleting a group takes its rules.
    assert (await admin.delete(f"{V20}/security-groups/{sg['id']}")).status_code == 204
    assert_fault(await admin.get(f"{RULES}/{icmp6['id']}"), 404)


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"direction": "sideways"}, "HTTPBadRequest"),
        ({"protocol": "banana"}, "SecurityGroupRuleInvalidProtocol"),
        ({"protocol": 300}, "SecurityGroupRuleInvalidProtocol"),
        ({"ethertype": "IPv5"}, "InvalidInput"),
        ({"port_range_min": 22}, "InvalidInput"),
        ({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80}, "InvalidInput"),
        ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 80}, "InvalidInput"),
        ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2}, "InvalidInput"),
        ({"protocol": "icmp", "port_range_min": 256}, "InvalidInput"),
        ({"protocol": "icmp", "port_range_max": 3}, "InvalidInput"),
        ({"protocol": "ipv6-icmp"}, "InvalidInput"),
        ({"remote_ip_prefix": "2001:db8::/64"}, "InvalidInput"),
        ({"remote_ip_prefix": "nonsense"}, "InvalidCIDR"),
        (
            {
                "remote_ip_prefix": "10.0.0.0/8",
                "remote_group_id": "5e5e5e5e-0000-4000-8000-000000000000",
            },
            "InvalidInput",
        ),
        ({"port_range_min": 70000}, "HTTPBadRequest"),
    ],
)
async def test_bad_rules(admin: httpx.AsyncClient, fields: dict[str, Any], kind: str) -> None:
    sg = await create(admin, "security_group", name="bad")
    body = {"security_group_id": sg["id"], "direction": "ingress", **fields}
    assert_fault(await admin.post(RULES, json={"security_group_rule": body}), 400, kind)


async def test_rule_on_unknown_groups(admin: httpx.AsyncClient) -> None:
    sg = await create(admin, "security_group", name="x")
    missing = "5e5e5e5e-0000-4000-8000-000000000000"
    for body in (
        {"security_group_id": missing},
        {"security_group_id": sg["id"], "remote_group_id": missing},
    ):
        r = await admin.post(RULES, json={"security_group_rule": {"direction": "egress", **body}})
        assert_fault(r, 404, "SecurityGroupNotFound")


async def test_group_and_rule_quotas(admin: httpx.AsyncClient) -> None:
    project, _, token = await project_member(admin)
    r = await admin.put(
        f"{V20}/quotas/{project['id']}",
        json={"quota": {"security_group": 2, "security_group_rule": 7}},
    )
    assert r.status_code == 200, r.text
    # The default group (1 group, 4 rules) counts; a new group adds 2 egress rules.
    sg = await create(admin, "security_group", token, name="one")
    r = await admin.post(
        f"{V20}/security-groups", json={"security_group": {"name": "two"}}, headers=auth(token)
    )
    assert_fault(r, 409, "OverQuota")
    await create(
        admin,
        "security_group_rule",
        token,
        security_group_id=sg["id"],
        direction="ingress",
        protocol="udp",
        port_range_min=53,
        port_range_max=53,
    )
    r = await admin.post(
        RULES,
        headers=auth(token),
        json={
            "security_group_rule": {
                "security_group_id": sg["id"],
                "direction": "ingress",
                "protocol": "icmp",
            }
        },
    )
    fault = assert_fault(r, 409, "OverQuota")
    assert fault["message"] == "Quota exceeded for resources: ['security_group_rule']."


async def test_rule_ports_and_remote_groups_are_refused_in_neutrons_words(
    admin: httpx.AsyncClient,
) -> None:
    group = await create(admin, "security_group", name="words")
    base = {"security_group_id": group["id"], "direction": "ingress", "protocol": "tcp"}
    for low, high, words in (
        (-16, 80, "Invalid value for port -16"),
        (80, 65536, "Invalid value for port 65536"),
    ):
        r = await admin.post(
            f"{V20}/security-group-rules",
            json={"security_group_rule": {**base, "port_range_min": low, "port_range_max": high}},
        )
        assert words in assert_fault(r, 400)["message"]
    for remote in ("bad_group_id", "0e5c2d0a-58a4-4a51-9d3b-0e1d6a3c0d99"):
        r = await admin.post(
            f"{V20}/security-group-rules",
            json={"security_group_rule": {**base, "remote_group_id": remote}},
        )
        assert_fault(r, 404, "SecurityGroupNotFound")
