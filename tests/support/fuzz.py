"""Schemathesis over the app in-process: bounded, derandomized fuzzing that records every 5xx.

Shared by the fuzz modules (identity and image, compute): the operation runner,
what it found, and the small OpenAPI fragments the raw-body APIs are described with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.python import asgi as st_asgi

from tests.conftest import ADMIN_PASSWORD

V3 = "/identity/v3"
# Examples per strategy of operations that only vary their path and header parameters.
PARAM_EXAMPLES = 4
# Seconds one request may take: a request that hangs is a finding, not a stuck run.
REQUEST_TIMEOUT_S = 20.0

T = TypeVar("T")


@dataclass
class Findings:
    """Every request that got a 5xx (or crashed the app), one per operation."""

    by_operation: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    def record(self, label: str, detail: str) -> None:
        """Keep the first failure of an operation."""
        self.by_operation.setdefault(label, detail)

    def assert_none(self, what: str) -> None:
        """Fail with a report of every operation that answered 5xx."""
        report = "\n\n".join(
            f"{label}\n{detail}" for label, detail in sorted(self.by_operation.items())
        )
        assert not self.by_operation, (
            f"{len(self.by_operation)} {what} answered 5xx "
            f"(of {self.requests} requests):\n\n{report}"
        )


def admin_token(client: Any) -> str:
    """A project-scoped token of the bootstrap admin."""
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


def on_app_loop(app: Any, token: str, work: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Run `work` with an async client of the app, on the event loop schemathesis runs it on.

    The async helpers of tests/support (boot a server, wait for a status) then serve the
    synchronous fuzz run too; the app's database connections belong to that loop.
    """

    async def run() -> T:
        transport = httpx.ASGITransport(app=app)
        headers = {"X-Auth-Token": token}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as c:
            return await work(c)

    # One loop thread serves every app schemathesis starts; it has no public handle.
    return st_asgi._get_portal().call(run)


def json_body(
    schema: dict[str, Any], media: str = "application/json", example: Any = None
) -> dict[str, Any]:
    """A required OpenAPI request body (with a valid example, sent first, when given)."""
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"required": True, "content": {media: content}}


def query(**params: dict[str, Any]) -> list[dict[str, Any]]:
    """Optional OpenAPI query parameters by name (use `**{"changes-since": ...}` for dashes)."""
    return [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in params.items()
    ]


def fuzz_operation(
    operation: Any,
    known: dict[str, str] | None,
    token: str,
    findings: Findings,
    examples: int,
    *,
    negative: bool | None = None,
    generated_paths: bool = True,
    label: str | None = None,
    example_headers: Sequence[dict[str, str]] = ({},),
    after: Callable[[], None] | None = None,
) -> None:
    """Send `examples` cases per strategy to one operation; record the first 5xx or crash.

    First the body's documented example, if it has one, once per `example_headers`. Then
    the strategies: valid data at generated path ids (unless not `generated_paths`), valid
    data at the `known` (real) ones, and invalid data at the real ones (by default only
    when there is a body). `after` runs after each request (to let its effect settle).
    """
    label = label or f"{operation.method.upper()} {operation.path}"

    def send(case: Any) -> None:
        findings.requests += 1
        try:
            response = case.call(headers={"X-Auth-Token": token}, timeout=REQUEST_TIMEOUT_S)
        except Exception as exc:  # the app raised (or hung) instead of answering
            findings.record(label, f"{type(exc).__name__}: {exc}\n{case.as_curl_command()}")
            return
        if response.status_code >= 500:
            findings.record(
                label,
                f"{response.status_code} {response.text[:300]}\n"
                f"{case.as_curl_command(headers={'X-Auth-Token': '<admin>'})}",
            )
        if after is not None:
            after()

    # The valid example of a body, as documented: once with each set of headers.
    for body in operation.body:
        if "example" in body.definition and (known or "{" not in operation.path):
            for headers in example_headers:
                send(
                    operation.Case(
                        body=body.definition["example"],
                        media_type=body.media_type,
                        path_parameters=known or {},
                        headers=dict(headers),
                    )
                )
    positive = schemathesis.GenerationMode.POSITIVE
    if negative is None:
        negative = len(operation.body) > 0
    strategies = [operation.as_strategy(generation_mode=positive)] if generated_paths else []
    if known:
        strategies.append(operation.as_strategy(generation_mode=positive, path_parameters=known))
    if negative:
        # Invalid input, sent where it can do the most: at real resources.
        strategies.append(
            operation.as_strategy(
                generation_mode=schemathesis.GenerationMode.NEGATIVE, path_parameters=known
            )
        )
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
            send(case)

        try:
            run()
        except (hypothesis.errors.Unsatisfiable, hypothesis.errors.FailedHealthCheck):
            # Nothing valid (or invalid) can be generated for this operation: nothing to send.
            continue
