"""Bad input gets a 4xx in Keystone's {"error": {...}} format, and changes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.identity import (
    V3,
    assert_fault,
    create_domain,
    create_group,
    create_project,
    create_role,
    create_user,
    unique,
)

JSON = {"Content-Type": "application/json"}


MALFORMED = [
    b'{"project": ',
    b"{'single': 'quotes'}",
    b"\xff\xfe not utf-8",
    b"[" * 5000 + b"]" * 5000,
    b"[]",
    b'"just a string"',
    b"null",
    b"{}",
    b"12",
]


async def test_malformed_bodies_are_400(admin: httpx.AsyncClient) -> None:
    wrong = []
    for path in ("projects", "domains", "users", "groups", "roles", "regions", "auth/tokens"):
        for raw in MALFORMED:
            r = await admin.post(f"{V3}/{path}", content=raw, headers=JSON)
            try:
                assert_fault(r, 400)
            except AssertionError as exc:
                wrong.append(f"POST {path} {raw[:30]!r}: {exc}")
    assert not wrong, "\n".join(wrong)


async def test_malformed_update_bodies_are_400(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    for path in (f"projects/{project['id']}", f"users/{user['id']}"):
        for raw in (b"{", b"[]", b'{"project": 5}', b'{"user": []}'):
            assert_fault(await admin.patch(f"{V3}/{path}", content=raw, headers=JSON), 400)


BAD_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("projects", {"project": {}}),
    ("projects", {"project": {"name": ""}}),
    ("projects", {"project": {"name": "   "}}),
    ("projects", {"project": {"name": 5}}),
    ("projects", {"project": {"name": None}}),
    ("projects", {"project": {"name": "ok", "enabled": "yes"}}),
    ("projects", {"project": {"name": "ok", "enabled": 1}}),
    ("projects", {"project": {"name": "ok", "is_domain": "false"}}),
    ("projects", {"project": {"name": "ok", "domain_id": 7}}),
    ("projects", {"project": {"name": "ok", "description": 5}}),
    ("projects", {"project": {"name": "ok", "tags": "a"}}),
    ("projects", {"project": {"name": "ok", "tags": ["a/b"]}}),
    ("projects", {"project": {"name": "ok", "tags": ["a,b"]}}),
    ("projects", {"project": {"name": "ok", "tags": [str(i) for i in range(81)]}}),
    ("projects", {"project": "ok"}),
    ("projects", {"name": "ok"}),
    ("domains", {"domain": {}}),
    ("domains", {"domain": {"name": ["x"]}}),
    ("domains", {"domain": {"name": "ok", "enabled": "true"}}),
    ("users", {"user": {}}),
    ("users", {"user": {"name": {"a": 1}}}),
    ("users", {"user": {"name": "ok", "password": 123}}),
    ("users", {"user": {"name": "ok", "enabled": None}}),
    ("users", {"user": {"name": "ok", "default_project_id": 3}}),
    ("groups", {"group": {"name": ""}}),
    ("groups", {"group": {"name": True}}),
    ("roles", {"role": {"name": ""}}),
    ("roles", {"role": {"name": 1.5}}),
    ("regions", {"region": {"id": 5}}),
    ("services", {"service": {}}),
    ("services", {"service": {"type": "x", "enabled": "no"}}),
    ("endpoints", {"endpoint": {"service_id": "x", "interface": "public"}}),
    ("endpoints", {"endpoint": {"service_id": "x", "interface": "side", "url": "http://a"}}),
    ("endpoints", {"endpoint": {"service_id": "x", "interface": "public", "url": "not a url"}}),
]


async def test_missing_or_mistyped_fields_are_400(admin: httpx.AsyncClient) -> None:
    wrong = []
    for path, body in BAD_FIELDS:
        r = await admin.post(f"{V3}/{path}", json=body)
        try:
            assert_fault(r, 400)
        except AssertionError as exc:
            wrong.append(f"POST {path} {body}: {exc}")
    assert not wrong, "\n".join(wrong)
    # None of them created anything.
    r = await admin.get(f"{V3}/projects", params={"name": "ok"})
    assert r.json()["projects"] == []


async def test_mistyped_updates_are_400_and_change_nothing(admin: httpx.AsyncClient) -> None:
    project = await create_project(admin)
    user = await create_user(admin)
    group = await create_group(admin)
    role = await create_role(admin)
    for path, body in (
        (f"projects/{project['id']}", {"project": {"name": None}}),
        (f"projects/{project['id']}", {"project": {"enabled": "false"}}),
        (f"projects/{project['id']}", {"project": {"name": "x" * 65}}),
        (f"users/{user['id']}", {"user": {"enabled": None}}),
        (f"users/{user['id']}", {"user": {"name": "y" * 256}}),
        (f"users/{user['id']}", {"user": {"enabled": "no"}}),
        (f"groups/{group['id']}", {"group": {"name": None}}),
        (f"roles/{role['id']}", {"role": {"name": 3}}),
    ):
        assert_fault(await admin.patch(f"{V3}/{path}", json=body), 400)
    shown = (await admin.get(f"{V3}/projects/{project['id']}")).json()["project"]
    assert shown["name"] == project["name"] and shown["enabled"] is True
    shown = (await admin.get(f"{V3}/users/{user['id']}")).json()["user"]
    assert shown["name"] == user["name"] and shown["enabled"] is True


async def test_empty_updates_are_400(admin: httpx.AsyncClient) -> None:
    # Keystone's user, group and domain update schemas have minProperties: 1.
    domain = await create_domain(admin)
    user = await create_user(admin)
    group = await create_group(admin)
    wrong = []
    for path, key in (
        (f"domains/{domain['id']}", "domain"),
        (f"users/{user['id']}", "user"),
        (f"groups/{group['id']}", "group"),
    ):
        r = await admin.patch(f"{V3}/{path}", json={key: {}})
        if r.status_code != 400:
            wrong.append(f"PATCH {path} {{{key!r}: {{}}}} -> {r.status_code}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("path", "key", "limit"),
    [
        ("projects", "project", 64),
        ("domains", "domain", 64),
        ("users", "user", 255),
        ("groups", "group", 255),
        ("roles", "role", 255),
    ],
)
async def test_name_length_limits(
    admin: httpx.AsyncClient, path: str, key: str, limit: int
) -> None:
    too_long = unique("n").ljust(limit + 1, "x")
    r = await admin.post(f"{V3}/{path}", json={key: {"name": too_long}})
    assert_fault(r, 400)
    r = await admin.get(f"{V3}/{path}", params={"name": too_long})
    assert r.status_code == 200 and r.json()[path] == []
    longest = unique("n").ljust(limit, "x")
    r = await admin.post(f"{V3}/{path}", json={key: {"name": longest}})
    assert r.status_code == 201, r.text
    assert r.json()[key]["name"] == longest


async def test_unknown_ids_are_404(admin: httpx.AsyncClient) -> None:
    nope = "0123456789abcdef" * 2
    wrong = []
    for path in (
        "projects",
        "domains",
        "users",
        "groups",
        "roles",
        "regions",
        "services",
        "endpoints",
    ):
        key = path[:-1]
        for method, body in (
            ("GET", None),
            ("PATCH", {key: {"description": "x"}}),
            ("DELETE", None),
        ):
            r = await admin.request(method, f"{V3}/{path}/{nope}", json=body)
            try:
                assert_fault(r, 404)
            except AssertionError as exc:
                wrong.append(f"{method} {path}/<unknown>: {exc}")
    assert not wrong, "\n".join(wrong)


async def test_unknown_ids_in_sub_resources_are_404(admin: httpx.AsyncClient) -> None:
    nope = "0123456789abcdef" * 2
    for path in (
        f"users/{nope}/groups",
        f"users/{nope}/projects",
        f"groups/{nope}/users",
        f"roles/{nope}/implies",
        f"projects/{nope}/tags",
    ):
        assert_fault(await admin.get(f"{V3}/{path}"), 404)


async def test_duplicate_names_in_a_domain_are_409(admin: httpx.AsyncClient) -> None:
    for path, key in (("projects", "project"), ("users", "user"), ("groups", "group")):
        name = unique(key)
        r = await admin.post(f"{V3}/{path}", json={key: {"name": name, "domain_id": "default"}})
        assert r.status_code == 201
        r = await admin.post(f"{V3}/{path}", json={key: {"name": name, "domain_id": "default"}})
        assert_fault(r, 409)
        r = await admin.get(f"{V3}/{path}", params={"name": name})
        assert len(r.json()[path]) == 1


async def test_rename_onto_existing_name_is_409(admin: httpx.AsyncClient) -> None:
    a = await create_project(admin)
    b = await create_project(admin)
    r = await admin.patch(f"{V3}/projects/{b['id']}", json={"project": {"name": a["name"]}})
    assert_fault(r, 409)
    u1 = await create_user(admin)
    u2 = await create_user(admin)
    r = await admin.patch(f"{V3}/users/{u2['id']}", json={"user": {"name": u1["name"]}})
    assert_fault(r, 409)
    assert (await admin.get(f"{V3}/users/{u2['id']}")).json()["user"]["name"] == u2["name"]


async def test_wrong_content_type_is_415(admin: httpx.AsyncClient) -> None:
    name = unique("ct")
    body = b'{"project": {"name": "' + name.encode() + b'"}}'
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=x",
    ):
        r = await admin.post(f"{V3}/projects", content=body, headers={"Content-Type": content_type})
        assert_fault(r, 415)
    r = await admin.get(f"{V3}/projects", params={"name": name})
    assert r.json()["projects"] == []


async def test_json_with_charset_is_accepted(admin: httpx.AsyncClient) -> None:
    name = unique("ct")
    body = b'{"project": {"name": "' + name.encode() + b'"}}'
    r = await admin.post(
        f"{V3}/projects",
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201, r.text


async def test_unknown_route_and_method(admin: httpx.AsyncClient) -> None:
    assert_fault(await admin.get(f"{V3}/no-such-thing"), 404)
    assert_fault(await admin.put(f"{V3}/users", json={}), 405)


AUTH_BAD: list[tuple[dict[str, Any], int]] = [
    ({}, 400),
    ({"auth": {}}, 400),
    ({"auth": "x"}, 400),
    ({"auth": {"identity": {"methods": "password"}}}, 400),
    ({"auth": {"identity": {"methods": []}}}, 400),
    ({"auth": {"identity": {"methods": ["password"]}}}, 400),
    ({"auth": {"identity": {"methods": ["password"], "password": {}}}}, 400),
    (
        {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": "admin", "password": "x"}},
                }
            }
        },
        400,
    ),
    ({"auth": {"identity": {"methods": ["kerberos"], "kerberos": {}}}}, 401),
    ({"auth": {"identity": {"methods": ["token"], "token": {}}}}, 400),
    ({"auth": {"identity": {"methods": ["token"], "token": {"id": 5}}}}, 400),
    ({"auth": {"identity": {"methods": ["token"], "token": {"id": "nope"}}}}, 401),
]


async def test_bad_auth_requests(client: httpx.AsyncClient) -> None:
    wrong = []
    for body, status in AUTH_BAD:
        r = await client.post(f"{V3}/auth/tokens", json=body)
        try:
            assert_fault(r, status)
            assert "x-subject-token" not in r.headers
        except AssertionError as exc:
            wrong.append(f"{body}: {exc}")
    assert not wrong, "\n".join(wrong)


async def test_bad_scope_values(client: httpx.AsyncClient) -> None:
    from tests.conftest import ADMIN_PASSWORD

    identity = {
        "methods": ["password"],
        "password": {
            "user": {"name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}
        },
    }
    for scope in (
        {"project": {}},
        {"project": {"name": "admin"}},
        {"domain": {}},
        {"system": {"all": False}},
        {"system": "all"},
        {"project": {"id": "x"}, "domain": {"id": "default"}},
        {"galaxy": {"id": "x"}},
        ["project"],
        5,
    ):
        r = await client.post(
            f"{V3}/auth/tokens", json={"auth": {"identity": identity, "scope": scope}}
        )
        assert r.status_code in (400, 401), (scope, r.status_code, r.text)
        assert_fault(r, r.status_code)


async def test_values_a_database_may_refuse_never_cause_a_5xx(admin: httpx.AsyncClient) -> None:
    # PostgreSQL refuses NUL characters and strings longer than their column where
    # SQLite stores them: whichever the backend, the client gets a 2xx or a 4xx.
    long_id = "r" * 300
    requests: list[tuple[str, str, Any, dict[str, str]]] = [
        ("POST", "projects", {"project": {"name": "nul\x00name"}}, {}),
        ("POST", "projects", {"project": {"name": unique(), "description": "x\x00y"}}, {}),
        ("POST", "users", {"user": {"name": "nul\x00user", "password": "p\x00w"}}, {}),
        ("POST", "groups", {"group": {"name": unique(), "description": "\x00"}}, {}),
        ("POST", "roles", {"role": {"name": "r\x00"}}, {}),
        ("GET", "users", None, {"name": "a\x00b"}),
        ("GET", "projects", None, {"name": "a\x00b", "domain_id": "\x00"}),
        ("GET", "users/a%00b", None, {}),
        ("GET", f"projects/{long_id}", None, {}),
        ("PUT", f"regions/{long_id}", {"region": {}}, {}),
        ("GET", "role_assignments", None, {"user.id": "\x00", "scope.project.id": long_id}),
        (
            "POST",
            "auth/tokens",
            {
                "auth": {
                    "identity": {
                        "methods": ["password"],
                        "password": {
                            "user": {"name": "a\x00b", "domain": {"id": "default"}, "password": "x"}
                        },
                    }
                }
            },
            {},
        ),
    ]
    wrong = []
    for method, path, body, params in requests:
        r = await admin.request(method, f"{V3}/{path}", json=body, params=params)
        if r.status_code >= 500:
            wrong.append(
                f"{method} {path} {params or body!r:.80} -> {r.status_code} {r.text[:200]}"
            )
        elif r.status_code >= 400:
            assert_fault(r, r.status_code)
    assert not wrong, "\n".join(wrong)


async def test_oversized_bodies_are_413(admin: httpx.AsyncClient) -> None:
    # Keystone refuses bodies over max_request_body_size (112 KiB) before parsing them.
    name = unique("big")
    big = {"project": {"name": name, "padding": "x" * 200_000}}
    r = await admin.post(f"{V3}/projects", json=big)
    assert_fault(r, 413)

    async def chunks() -> AsyncIterator[bytes]:
        payload = json.dumps(big).encode()
        for i in range(0, len(payload), 16384):
            yield payload[i : i + 16384]

    r = await admin.post(f"{V3}/projects", content=chunks(), headers=JSON)
    assert_fault(r, 413)
    assert "x-openstack-request-id" in r.headers
    r = await admin.get(f"{V3}/projects", params={"name": name})
    assert r.json()["projects"] == []
    # Just under the limit is fine.
    r = await admin.post(
        f"{V3}/projects", json={"project": {"name": name, "padding": "x" * 100_000}}
    )
    assert r.status_code == 201, r.text


async def test_ids_in_create_bodies_are_not_the_clients_to_choose(admin: httpx.AsyncClient) -> None:
    # Keystone assigns the id of a new project, user, group or role itself
    # (_assign_unique_id); only a domain may ask for one, via explicit_domain_id.
    wrong = []
    for path, key in (
        ("projects", "project"),
        ("users", "user"),
        ("groups", "group"),
        ("roles", "role"),
    ):
        name = unique(key)
        r = await admin.post(f"{V3}/{path}", json={key: {"name": name, "id": "chosen-by-client"}})
        if r.status_code != 201:
            wrong.append(f"POST {path} with an id -> {r.status_code} {r.text[:120]}")
            continue
        new_id = r.json()[key]["id"]
        if not re.fullmatch(r"[0-9a-f]{32}", new_id):
            wrong.append(f"POST {path} took the client's id {new_id!r}")
    assert not wrong, "\n".join(wrong)
