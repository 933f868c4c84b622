"""Admin extras: policies, domain configuration, OAuth consumers, endpoint filtering."""

from __future__ import annotations

import httpx

from tests.support.identity import (
    V3,
    as_token,
    assert_fault,
    create_domain,
    create_project,
    project_member,
    unique,
)

# -- policies ---------------------------------------------------------------------------


async def test_policy_crud(admin: httpx.AsyncClient) -> None:
    r = await admin.post(
        f"{V3}/policies", json={"policy": {"blob": '{"a": "b"}', "type": "application/json"}}
    )
    assert r.status_code == 201, r.text
    policy = r.json()["policy"]
    assert policy["blob"] == '{"a": "b"}' and policy["type"] == "application/json"
    assert policy["links"]["self"].endswith(f"/v3/policies/{policy['id']}")

    r = await admin.patch(f"{V3}/policies/{policy['id']}", json={"policy": {"type": "text/x"}})
    assert r.status_code == 200 and r.json()["policy"]["type"] == "text/x"
    r = await admin.get(f"{V3}/policies/{policy['id']}")
    assert r.json()["policy"]["type"] == "text/x" and r.json()["policy"]["blob"] == policy["blob"]
    ids = [p["id"] for p in (await admin.get(f"{V3}/policies")).json()["policies"]]
    assert policy["id"] in ids

    assert (await admin.delete(f"{V3}/policies/{policy['id']}")).status_code == 204
    assert_fault(await admin.get(f"{V3}/policies/{policy['id']}"), 404)


async def test_policies_are_admin_only_and_validated(admin: httpx.AsyncClient) -> None:
    _, _, token = await project_member(admin)
    assert_fault(await admin.get(f"{V3}/policies", headers=as_token(token)), 403)
    body = {"policy": {"blob": "x", "type": "t"}}
    assert_fault(await admin.post(f"{V3}/policies", json=body, headers=as_token(token)), 403)
    for bad in ({"policy": {"blob": "x"}}, {"policy": {"blob": 1, "type": "t"}}, {"blob": "x"}):
        assert_fault(await admin.post(f"{V3}/policies", json=bad), 400)


# -- domain configuration ---------------------------------------------------------------------

CONFIG = {
    "identity": {"driver": "ldap"},
    "ldap": {"url": "ldap://myldap.com:389/", "user_tree_dn": "ou=Users,dc=org"},
}


async def test_default_config(admin: httpx.AsyncClient) -> None:
    config = (await admin.get(f"{V3}/domains/config/default")).json()["config"]
    assert set(config) == {"identity", "ldap"}
    assert config["identity"] == {"driver": "sql", "list_limit": None}
    assert config["ldap"]["url"] == "ldap://localhost" and "password" not in config["ldap"]
    r = await admin.get(f"{V3}/domains/config/ldap/default")
    assert r.status_code == 200 and r.json()["config"] == {"ldap": config["ldap"]}
    r = await admin.get(f"{V3}/domains/config/identity/driver/default")
    assert r.json()["config"] == {"driver": "sql"}
    assert_fault(await admin.get(f"{V3}/domains/config/nova/default"), 403)
    assert_fault(await admin.get(f"{V3}/domains/config/ldap/nope/default"), 403)
    assert_fault(await admin.get(f"{V3}/domains/config/ldap/password/default"), 403)


async def test_domain_config_lifecycle(admin: httpx.AsyncClient) -> None:
    domain = await create_domain(admin)
    path = f"{V3}/domains/{domain['id']}/config"
    assert_fault(await admin.get(path), 404)

    r = await admin.put(path, json={"config": CONFIG})
    assert r.status_code == 201, r.text
    assert r.json()["config"] == CONFIG
    r = await admin.put(path, json={"config": CONFIG})
    assert r.status_code == 200 and r.json()["config"] == CONFIG

    assert (await admin.get(path)).json()["config"] == CONFIG
    assert (await admin.get(f"{path}/ldap")).json()["config"] == {"ldap": CONFIG["ldap"]}
    r = await admin.get(f"{path}/ldap/url")
    assert r.json()["config"] == {"url": CONFIG["ldap"]["url"]}

    # Whole, group and option updates.
    r = await admin.patch(path, json={"config": {"ldap": {"url": "ldap://other/"}}})
    assert r.status_code == 200 and r.json()["config"]["ldap"]["url"] == "ldap://other/"
    r = await admin.patch(
        f"{path}/identity", json={"config": {"identity": {"driver": "x", "list_limit": 7}}}
    )
    assert r.status_code == 200
    assert r.json()["config"]["identity"] == {"driver": "x", "list_limit": 7}
    r = await admin.patch(f"{path}/identity/driver", json={"config": {"driver": "y"}})
    assert r.status_code == 200 and r.json()["config"]["identity"]["driver"] == "y"
    # An update names only what its path names, and only what exists already.
    r = await admin.patch(f"{path}/identity", json={"config": {"ldap": {"url": "u"}}})
    assert_fault(r, 403)
    r = await admin.patch(f"{path}/ldap/page_size", json={"config": {"page_size": 5}})
    assert_fault(r, 404)

    # A sensitive option is kept but never shown.
    r = await admin.patch(path, json={"config": {"ldap": {"password": "s3cret"}}})
    assert r.status_code == 200 and "password" not in r.json()["config"]["ldap"]
    assert_fault(await admin.get(f"{path}/ldap/password"), 404)

    assert (await admin.delete(f"{path}/identity/driver")).status_code == 204
    assert_fault(await admin.get(f"{path}/identity/driver"), 404)
    assert_fault(await admin.delete(f"{path}/identity/driver"), 404)
    assert (await admin.delete(f"{path}/identity")).status_code == 204
    assert_fault(await admin.get(f"{path}/identity"), 404)
    assert (await admin.delete(path)).status_code == 204
    assert_fault(await admin.get(path), 404)


async def test_domain_config_refusals(admin: httpx.AsyncClient) -> None:
    domain = await create_domain(admin)
    path = f"{V3}/domains/{domain['id']}/config"
    assert_fault(await admin.put(path, json={"config": {"nova": {"x": 1}}}), 403)
    assert_fault(await admin.put(path, json={"config": {"ldap": {"nope": 1}}}), 403)
    assert_fault(await admin.put(path, json={"config": {"ldap": "url"}}), 403)
    assert_fault(await admin.put(path, json={"config": {}}), 403)
    assert_fault(await admin.put(path, json={"config": "ldap"}), 400)
    assert_fault(await admin.put(path, json={"ldap": {}}), 400)
    assert_fault(await admin.get(f"{path}/nova"), 403)
    assert_fault(await admin.put(f"{V3}/domains/nope/config", json={"config": CONFIG}), 404)
    _, _, token = await project_member(admin)
    assert_fault(await admin.get(f"{V3}/domains/config/default", headers=as_token(token)), 403)
    r = await admin.put(path, json={"config": CONFIG}, headers=as_token(token))
    assert_fault(r, 403)


# -- OAuth consumers --------------------------------------------------------------------------


async def test_consumer_crud_and_secret(admin: httpx.AsyncClient) -> None:
    path = f"{V3}/OS-OAUTH1/consumers"
    r = await admin.post(path, json={"consumer": {"description": "portal"}})
    assert r.status_code == 201, r.text
    consumer = r.json()["consumer"]
    assert consumer["secret"] and consumer["description"] == "portal"
    r = await admin.get(f"{path}/{consumer['id']}")
    shown = r.json()["consumer"]
    assert "secret" not in shown
    assert {k: consumer[k] for k in ("id", "description", "links")} == shown

    r = await admin.patch(f"{path}/{consumer['id']}", json={"consumer": {"description": "new"}})
    assert r.status_code == 200 and r.json()["consumer"]["description"] == "new"
    r = await admin.patch(f"{path}/{consumer['id']}", json={"consumer": {"secret": "mine"}})
    assert_fault(r, 400)
    assert consumer["id"] in [c["id"] for c in (await admin.get(path)).json()["consumers"]]
    r = await admin.post(path, json={"consumer": {"description": None}})
    assert r.status_code == 201 and r.json()["consumer"]["description"] is None

    assert (await admin.delete(f"{path}/{consumer['id']}")).status_code == 204
    assert_fault(await admin.get(f"{path}/{consumer['id']}"), 404)
    _, _, token = await project_member(admin)
    assert_fault(await admin.get(path, headers=as_token(token)), 403)


# -- OS-EP-FILTER ---------------------------------------------------------------------------

EP = f"{V3}/OS-EP-FILTER"


async def _service_with_endpoints(admin: httpx.AsyncClient) -> tuple[str, dict, dict]:
    r = await admin.post(f"{V3}/services", json={"service": {"type": unique("type")}})
    service_id = r.json()["service"]["id"]
    eps = []
    for interface in ("public", "internal"):
        body = {"service_id": service_id, "interface": interface, "url": "http://x.test/"}
        r = await admin.post(f"{V3}/endpoints", json={"endpoint": body})
        assert r.status_code == 201, r.text
        eps.append(r.json()["endpoint"])
    return service_id, eps[0], eps[1]


async def test_endpoint_group_crud(admin: httpx.AsyncClient) -> None:
    service_id, _, _ = await _service_with_endpoints(admin)
    body = {"name": unique("eg"), "description": "d", "filters": {"service_id": service_id}}
    r = await admin.post(f"{EP}/endpoint_groups", json={"endpoint_group": body})
    assert r.status_code == 201, r.text
    group = r.json()["endpoint_group"]
    assert group["filters"] == {"service_id": service_id}
    assert group in (await admin.get(f"{EP}/endpoint_groups")).json()["endpoint_groups"]
    assert (await admin.get(f"{EP}/endpoint_groups/{group['id']}")).json()[
        "endpoint_group"
    ] == group
    assert (await admin.head(f"{EP}/endpoint_groups/{group['id']}")).status_code == 200

    r = await admin.patch(
        f"{EP}/endpoint_groups/{group['id']}",
        json={"endpoint_group": {"name": "renamed", "filters": {"interface": "admin"}}},
    )
    assert r.status_code == 200
    assert r.json()["endpoint_group"]["name"] == "renamed"
    assert r.json()["endpoint_group"]["filters"] == {"interface": "admin"}

    for bad in (
        {"name": "x", "filters": {"color": "red"}},
        {"name": "x", "filters": {"interface": "secret"}},
        {"name": "x", "filters": {}},
        {"name": "x"},
        {"filters": {"interface": "admin"}},
    ):
        r = await admin.post(f"{EP}/endpoint_groups", json={"endpoint_group": bad})
        assert_fault(r, 400)

    assert (await admin.delete(f"{EP}/endpoint_groups/{group['id']}")).status_code == 204
    assert_fault(await admin.head(f"{EP}/endpoint_groups/{group['id']}"), 404)
    assert_fault(await admin.get(f"{EP}/endpoint_groups/{group['id']}"), 404)


async def test_project_endpoint_associations(admin: httpx.AsyncClient) -> None:
    service_id, public, internal = await _service_with_endpoints(admin)
    project = await create_project(admin)
    pid = project["id"]
    link = f"{EP}/projects/{pid}/endpoints/{public['id']}"
    assert_fault(await admin.head(link), 404)
    assert (await admin.put(link)).status_code == 204
    assert (await admin.head(link)).status_code == 204
    assert (await admin.get(link)).status_code == 204
    r = await admin.get(f"{EP}/endpoints/{public['id']}/projects")
    assert [p["id"] for p in r.json()["projects"]] == [pid]
    r = await admin.get(f"{EP}/projects/{pid}/endpoints")
    assert [e["id"] for e in r.json()["endpoints"]] == [public["id"]]
    assert_fault(await admin.put(f"{EP}/projects/{pid}/endpoints/nope"), 404)
    assert_fault(await admin.put(f"{EP}/projects/nope/endpoints/{public['id']}"), 404)

    body = {"name": unique("eg"), "filters": {"service_id": service_id, "interface": "internal"}}
    group = (await admin.post(f"{EP}/endpoint_groups", json={"endpoint_group": body})).json()[
        "endpoint_group"
    ]
    r = await admin.get(f"{EP}/endpoint_groups/{group['id']}/endpoints")
    assert [e["id"] for e in r.json()["endpoints"]] == [internal["id"]]
    glink = f"{EP}/endpoint_groups/{group['id']}/projects/{pid}"
    assert_fault(await admin.get(glink), 404)
    assert (await admin.put(glink)).status_code == 204
    r = await admin.get(glink)
    assert r.status_code == 200
    assert r.json()["project_endpoint_group"]["endpoint_group_id"] == group["id"]
    assert (await admin.head(glink)).status_code == 200
    r = await admin.get(f"{EP}/endpoint_groups/{group['id']}/projects")
    assert [p["id"] for p in r.json()["projects"]] == [pid]
    r = await admin.get(f"{EP}/projects/{pid}/endpoint_groups")
    assert [g["id"] for g in r.json()["endpoint_groups"]] == [group["id"]]
    r = await admin.get(f"{EP}/projects/{pid}/endpoints")
    assert {e["id"] for e in r.json()["endpoints"]} == {public["id"], internal["id"]}

    _, _, token = await project_member(admin, project_id=pid)
    assert_fault(await admin.get(f"{EP}/projects/{pid}/endpoints", headers=as_token(token)), 403)
    assert_fault(await admin.put(link, headers=as_token(token)), 403)

    assert (await admin.delete(glink)).status_code == 204
    assert_fault(await admin.delete(glink), 404)
    assert (await admin.delete(link)).status_code == 204
    assert_fault(await admin.head(link), 404)
    r = await admin.get(f"{EP}/projects/{pid}/endpoints")
    assert r.json()["endpoints"] == []
