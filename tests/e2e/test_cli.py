"""The real `openstack` CLI against a real `stackling up --detach` process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.cloud import Cloud, detached_cloud
from tests.support.process import run, stackling_cmd

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """`stackling up --detach` on a fresh data dir and a free port; `stackling down` after."""
    with detached_cloud(tmp_path_factory.mktemp("cloud") / "data") as running:
        assert f"127.0.0.1:{running.port}" in running.up_output, running.up_output
        mode = running.clouds_yaml.stat().st_mode
        assert mode & 0o077 == 0, "clouds.yaml holds a password: 0600"
        yield running


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _field(row: dict[str, Any], name: str) -> Any:
    """A column of `-f json` output, whichever case this client version prints it in."""
    for key, value in row.items():
        if key.lower() == name.lower():
            return value
    raise KeyError(f"{name!r} not in {sorted(row)}")


def test_token_issue_catalog_endpoints_regions(cloud: Cloud) -> None:
    token = cloud.openstack("token", "issue", "-f", "json")
    assert token["id"] and token["project_id"] and token["user_id"]
    catalog = cloud.openstack("catalog", "list", "-f", "json")
    identity = next(entry for entry in catalog if entry["Type"] == "identity")
    urls = {e["url"] for e in identity["Endpoints"]}
    assert urls == {f"http://127.0.0.1:{cloud.port}/identity"}
    endpoints = cloud.openstack("endpoint", "list", "-f", "json")
    mine = [e for e in endpoints if e["Service Type"] == "identity"]
    assert {e["Interface"] for e in mine} == {"public", "internal", "admin"}
    assert all(e["Region"] == "RegionOne" and e["Enabled"] for e in mine)
    regions = cloud.openstack("region", "list", "-f", "json")
    assert "RegionOne" in {r["Region"] for r in regions}


def test_status_reports_healthy(cloud: Cloud) -> None:
    proc = run(
        [*stackling_cmd(), "status", "--json", "--data-dir", str(cloud.data_dir)],
        env=cloud.env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "ok"
    assert report["services"]["identity"]["status"] == "ok"


def test_domain_and_project_lifecycle(cloud: Cloud) -> None:
    domain = _name("dom")
    created = cloud.openstack("domain", "create", domain, "-f", "json")
    assert created["name"] == domain and created["enabled"] is True
    assert domain in {d["Name"] for d in cloud.openstack("domain", "list", "-f", "json")}

    project = _name("proj")
    created = cloud.openstack(
        "project", "create", project, "--domain", domain, "--description", "first", "-f", "json"
    )
    assert created["domain_id"] == cloud.openstack("domain", "show", domain, "-f", "json")["id"]
    listed = cloud.openstack("project", "list", "--domain", domain, "-f", "json")
    assert [p["Name"] for p in listed] == [project]

    cloud.openstack(
        "project", "set", project, "--domain", domain, "--description", "second", "--disable"
    )
    shown = cloud.openstack("project", "show", project, "--domain", domain, "-f", "json")
    assert shown["description"] == "second"
    assert shown["enabled"] is False

    cloud.openstack("project", "delete", project, "--domain", domain)
    assert cloud.openstack("project", "list", "--domain", domain, "-f", "json") == []
    proc = cloud.openstack("project", "show", project, "--domain", domain, ok=False)
    assert proc.returncode != 0

    cloud.openstack("domain", "set", domain, "--disable")
    cloud.openstack("domain", "delete", domain)
    assert domain not in {d["Name"] for d in cloud.openstack("domain", "list", "-f", "json")}


def test_user_lifecycle_roles_and_assignments(cloud: Cloud) -> None:
    project = _name("proj")
    cloud.openstack("project", "create", project, "-f", "json")
    user = _name("user")
    created = cloud.openstack(
        "user", "create", user, "--password", "u-pass-1", "--domain", "default", "-f", "json"
    )
    assert created["name"] == user and created["enabled"] is True
    assert "password" not in created

    cloud.openstack("user", "set", user, "--email", "u@example.org")
    assert cloud.openstack("user", "show", user, "-f", "json")["email"] == "u@example.org"

    cloud.openstack("role", "add", "--user", user, "--project", project, "member")
    rows = cloud.openstack(
        "role", "assignment", "list", "--user", user, "--names", "--effective", "-f", "json"
    )
    got = {(r["Role"], r["User"], r["Project"]) for r in rows}
    assert got == {
        ("member", f"{user}@Default", f"{project}@Default"),
        ("reader", f"{user}@Default", f"{project}@Default"),
    }

    token = cloud.openstack(
        "token", "issue", "-f", "json", env=cloud.as_user(user, "u-pass-1", project)
    )
    assert token["user_id"] == created["id"]

    # A new password: the old one stops working.
    cloud.openstack("user", "set", user, "--password", "u-pass-2")
    proc = cloud.openstack("token", "issue", env=cloud.as_user(user, "u-pass-1", project), ok=False)
    assert proc.returncode != 0
    cloud.openstack("token", "issue", "-f", "json", env=cloud.as_user(user, "u-pass-2", project))

    cloud.openstack("user", "delete", user)
    assert user not in {u["Name"] for u in cloud.openstack("user", "list", "-f", "json")}
    proc = cloud.openstack("token", "issue", env=cloud.as_user(user, "u-pass-2", project), ok=False)
    assert proc.returncode != 0


def test_group_membership(cloud: Cloud) -> None:
    group = _name("group")
    user = _name("user")
    cloud.openstack("group", "create", group, "-f", "json")
    cloud.openstack("user", "create", user, "--password", "pw", "-f", "json")
    cloud.openstack("group", "add", "user", group, user)
    assert "in group" in cloud.openstack("group", "contains", "user", group, user)
    members = cloud.openstack("user", "list", "--group", group, "-f", "json")
    assert [m["Name"] for m in members] == [user]
    cloud.openstack("group", "remove", "user", group, user)
    assert cloud.openstack("user", "list", "--group", group, "-f", "json") == []


def test_application_credential(cloud: Cloud) -> None:
    name = _name("app")
    cred = cloud.openstack("application", "credential", "create", name, "-f", "json")
    cred_id, secret = _field(cred, "id"), _field(cred, "secret")
    assert _field(cred, "name") == name and secret
    listed = cloud.openstack("application", "credential", "list", "-f", "json")
    assert name in {c["Name"] for c in listed}

    env = {k: v for k, v in cloud.env.items() if k not in ("OS_CLOUD", "OS_CLIENT_CONFIG_FILE")}
    auth = [
        "--os-auth-type",
        "v3applicationcredential",
        "--os-auth-url",
        cloud.auth_url,
        "--os-application-credential-id",
        cred_id,
        "--os-application-credential-secret",
        secret,
        "--os-identity-api-version",
        "3",
        "--os-region-name",
        "RegionOne",
    ]
    token = cloud.openstack(*auth, "token", "issue", "-f", "json", env=env)
    assert token["project_id"] == cloud.openstack("token", "issue", "-f", "json")["project_id"]
    catalog = cloud.openstack(*auth, "catalog", "list", "-f", "json", env=env)
    assert "identity" in {c["Type"] for c in catalog}

    wrong = [*auth[:-5], "not-the-secret", *auth[-4:]]
    assert cloud.openstack(*wrong, "token", "issue", env=env, ok=False).returncode != 0

    cloud.openstack("application", "credential", "delete", name)
    assert cloud.openstack(*auth, "token", "issue", env=env, ok=False).returncode != 0


def test_removed_role_stops_token_validating(cloud: Cloud) -> None:
    project = _name("proj")
    project_id = cloud.openstack("project", "create", project, "-f", "json")["id"]
    user = _name("user")
    cloud.openstack("user", "create", user, "--password", "pw-1", "-f", "json")
    cloud.openstack("role", "add", "--user", user, "--project", project, "member")
    token = cloud.openstack(
        "token", "issue", "-f", "json", env=cloud.as_user(user, "pw-1", project)
    )

    env = {k: v for k, v in cloud.env.items() if k not in ("OS_CLOUD", "OS_CLIENT_CONFIG_FILE")}
    with_token = [
        "--os-auth-type",
        "token",
        "--os-token",
        token["id"],
        "--os-auth-url",
        cloud.auth_url,
        "--os-project-id",
        project_id,
        "--os-identity-api-version",
        "3",
        "--os-region-name",
        "RegionOne",
    ]
    shown = cloud.openstack(*with_token, "project", "show", project_id, "-f", "json", env=env)
    assert shown["id"] == project_id
    admin_token = cloud.openstack("token", "issue", "-f", "json")["id"]
    r = httpx.get(
        f"{cloud.auth_url}/auth/tokens",
        headers={"X-Auth-Token": admin_token, "X-Subject-Token": token["id"]},
        timeout=10,
    )
    assert r.status_code == 200

    cloud.openstack("role", "remove", "--user", user, "--project", project, "member")

    r = httpx.get(
        f"{cloud.auth_url}/auth/tokens",
        headers={"X-Auth-Token": admin_token, "X-Subject-Token": token["id"]},
        timeout=10,
    )
    assert r.status_code == 404, r.text
    proc = cloud.openstack(*with_token, "project", "show", project_id, env=env, ok=False)
    assert proc.returncode != 0
    proc = cloud.openstack("token", "issue", env=cloud.as_user(user, "pw-1", project), ok=False)
    assert proc.returncode != 0
