"""Small Keystone behaviours that were once different here."""

from __future__ import annotations

import httpx

from tests.support.identity import V3, assert_fault, create_project, unique


async def test_repeated_project_tags_are_refused_not_merged(admin: httpx.AsyncClient) -> None:
    r = await admin.post(
        f"{V3}/projects", json={"project": {"name": unique(), "tags": ["a", "b", "a"]}}
    )
    assert_fault(r, 400)
    project = await create_project(admin)
    r = await admin.put(f"{V3}/projects/{project['id']}/tags", json={"tags": ["x", "x"]})
    assert_fault(r, 400)
    r = await admin.get(f"{V3}/projects/{project['id']}/tags")
    assert r.json()["tags"] == []


async def test_only_zero_and_false_mean_false_in_filters(admin: httpx.AsyncClient) -> None:
    enabled = await create_project(admin)
    r = await admin.post(f"{V3}/projects", json={"project": {"name": unique(), "enabled": False}})
    disabled = r.json()["project"]
    for value, expect_enabled in (("off", True), ("no", True), ("0", False), ("False", False)):
        r = await admin.get(f"{V3}/projects", params={"enabled": value})
        ids = {p["id"] for p in r.json()["projects"]}
        assert (enabled["id"] in ids) is expect_enabled, value
        assert (disabled["id"] in ids) is not expect_enabled, value


async def test_project_tag_with_characters_outside_latin1_gets_an_escaped_location(
    admin: httpx.AsyncClient,
) -> None:
    """A 201's Location header is latin-1: a tag like 'WÀ÷\\U000c90ec' once made it a 500."""
    r = await admin.post("/identity/v3/projects", json={"project": {"name": "tagged-unicode"}})
    project = r.json()["project"]["id"]
    tag = "WÀ÷\U000c90ec"
    r = await admin.put(f"/identity/v3/projects/{project}/tags/{tag}")
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith("/tags/W%C3%80%C3%B7%F3%89%83%AC")
