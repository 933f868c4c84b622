"""Schemathesis over the identity API's own OpenAPI document: no input may produce a 5xx.

The app runs in-process (schemathesis' ASGI transport); every request carries an
admin token, so the fuzzer gets past authentication and policy into the
service code. Each operation is fuzzed with valid and invalid data, once with
generated path ids and once with the ids of real resources (so PATCH and
DELETE reach rows that exist). Generation is derandomized and bounded by a
fixed number of examples per operation, so the run is repeatable and short.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.python import asgi as st_asgi

from stackling.app import build_app
from stackling.settings import Settings
from tests.conftest import ADMIN_PASSWORD

# Examples per strategy: operations with a body get more (their input is what
# varies); the others only vary their path and header parameters.
BODY_EXAMPLES = 20
PARAM_EXAMPLES = 4
V3 = "/identity/v3"


@dataclass
class Findings:
    """Every request that got a 5xx (or crashed the app), one per operation."""

    by_operation: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    def record(self, label: str, detail: str) -> None:
        """Keep the first failure of an operation."""
        self.by_operation.setdefault(label, detail)


@pytest.fixture
def fuzz_app(settings: Settings) -> Iterator[Any]:
    """The app, started by schemathesis' ASGI client (its event loop), stopped afterwards."""
    app = build_app(settings)
    try:
        yield app
    finally:
        st_asgi.shutdown_lifespans()


def _admin_token(client: Any) -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": ADMIN_PASSWORD,
                    }
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    r = client.post(f"{V3}/auth/tokens", json=body)
    assert r.status_code == 201, r.text
    return str(r.headers["x-subject-token"])


def _make_resources(client: Any) -> dict[str, str]:
    """Real resources for path parameters: their ids by kind."""

    def post(path: str, key: str, body: dict[str, Any]) -> str:
        r = client.post(f"{V3}/{path}", json={key: body})
        assert r.status_code == 201, r.text
        return str(r.json()[key]["id"])

    ids = {
        "domain": post("domains", "domain", {"name": "fuzz-domain"}),
        "project": post("projects", "project", {"name": "fuzz-project", "tags": ["fuzz-tag"]}),
        "user": post("users", "user", {"name": "fuzz-user", "password": "fuzz-password"}),
        "group": post("groups", "group", {"name": "fuzz-group"}),
        "role": post("roles", "role", {"name": "fuzz-role"}),
        "role2": post("roles", "role", {"name": "fuzz-role-2"}),
        "region": post("regions", "region", {"id": "fuzz-region"}),
        "service": post("services", "service", {"type": "fuzz"}),
    }
    ids["endpoint"] = post(
        "endpoints",
        "endpoint",
        {"service_id": ids["service"], "interface": "public", "url": "http://127.0.0.1:1/"},
    )
    r = client.put(f"{V3}/groups/{ids['group']}/users/{ids['user']}")
    assert r.status_code == 204, r.text
    r = client.put(f"{V3}/projects/{ids['project']}/users/{ids['user']}/roles/{ids['role']}")
    assert r.status_code == 204, r.text
    ids["tag"] = "fuzz-tag"
    return ids


_KIND_BY_SEGMENT = {
    "domains": "domain",
    "projects": "project",
    "users": "user",
    "groups": "group",
    "roles": "role",
    "implies": "role2",
    "regions": "region",
    "services": "service",
    "endpoints": "endpoint",
    "tags": "tag",
}


def _known_path_parameters(path: str, ids: dict[str, str]) -> dict[str, str]:
    """Path parameters of `path` filled with real ids, where the kind can be told."""
    out = {}
    for segment, name in re.findall(r"([^/{}]+)/\{([^}]+)\}", path):
        kind = _KIND_BY_SEGMENT.get(segment)
        if kind is not None:
            out[name] = ids[kind]
    return out


def _fuzz_operation(operation: Any, ids: dict[str, str], token: str, findings: Findings) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    known = _known_path_parameters(operation.path, ids) or None
    positive = schemathesis.GenerationMode.POSITIVE
    negative = schemathesis.GenerationMode.NEGATIVE
    has_body = len(operation.body) > 0
    examples = BODY_EXAMPLES if has_body else PARAM_EXAMPLES
    strategies = [operation.as_strategy(generation_mode=positive)]
    if known:
        strategies.append(operation.as_strategy(generation_mode=positive, path_parameters=known))
    if has_body:
        # Invalid bodies, sent where they can do the most: at real resources.
        strategies.append(operation.as_strategy(generation_mode=negative, path_parameters=known))
    for strategy in strategies:

        @hypothesis.settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=strategy)
        def run(case: Any) -> None:
            findings.requests += 1
            try:
                response = case.call(headers={"X-Auth-Token": token})
            except Exception as exc:  # the app raised instead of answering
                findings.record(label, f"{type(exc).__name__}: {exc}\n{case.as_curl_command()}")
                return
            if response.status_code >= 500:
                findings.record(
                    label,
                    f"{response.status_code} {response.text[:300]}\n"
                    f"{case.as_curl_command(headers={'X-Auth-Token': '<admin>'})}",
                )

        try:
            run()
        except (hypothesis.errors.Unsatisfiable, hypothesis.errors.FailedHealthCheck):
            # Nothing valid (or invalid) can be generated for this operation: nothing to send.
            continue


def test_no_server_errors(fuzz_app: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FastAPI's duplicate operation id warnings
        schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100, "the OpenAPI document lost its operations"
    findings = Findings()
    with st_asgi.get_client(fuzz_app) as client:
        token = _admin_token(client)
        client.headers["X-Auth-Token"] = token
        ids = _make_resources(client)
        for operation in operations:
            _fuzz_operation(operation, ids, token, findings)
        # The admin token survived the run: the fuzzer did not break authentication.
        r = client.get(f"{V3}/auth/tokens", headers={"X-Subject-Token": token})
        assert r.status_code == 200, r.text
    assert findings.requests > len(operations) * 2, findings.requests
    report = "\n\n".join(
        f"{label}\n{detail}" for label, detail in sorted(findings.by_operation.items())
    )
    assert not findings.by_operation, (
        f"{len(findings.by_operation)} operations answered 5xx "
        f"(of {findings.requests} requests):\n\n{report}"
    )
