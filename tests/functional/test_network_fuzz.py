"""Schemathesis over the network API (Neutron v2.0, no agent): no input may produce a 5xx.

The network routes read raw JSON bodies, so the fuzzer is given what Neutron's
API reference documents (tests/support/neutron_requests.py): each resource's
POST and PUT body from the attributes its spec allows, quotas, router
interfaces and extra routes, tags, and the list query string. Path parameters
are real resources: a network, subnet, subnet pool, port, security group and
rule, router (with a gateway and an interface) and floating IP on an external
network, a project, a tag; those an operation may delete or change are made
anew for it, and what a POST made is deleted again after it.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.python import asgi as st_asgi

from stackling.network.extensions import BY_ALIAS
from stackling.network.service import quota
from stackling.settings import Settings
from tests.conftest import make_settings
from tests.support import neutron_requests as neutron
from tests.support.fuzz import PARAM_EXAMPLES, Findings, admin_token, fuzz_operation

V20 = neutron.V20
SERVICES = ["identity", "network"]
BODY_EXAMPLES = 25
QUERY_EXAMPLES = 20
# (path segment, parameter after it) -> the key in Cloud.ids of the real value it takes.
_KNOWN = {
    ("networks", "ident"): "target_network",
    ("subnets", "ident"): "target_subnet",
    ("subnetpools", "ident"): "target_subnetpool",
    ("ports", "ident"): "target_port",
    ("security-groups", "ident"): "target_security_group",
    ("security-group-rules", "ident"): "target_rule",
    ("routers", "ident"): "router",
    ("floatingips", "ident"): "target_floatingip",
    ("quotas", "project_id"): "project",
    ("extensions", "alias"): "alias",
    ("v2.0", "collection"): "collection",
    ("{collection}", "ident"): "tagged",
    ("tags", "tag"): "tag",
}


class Cloud:
    """The real resources of the run: made once, or anew for each operation that needs it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.serial = 0
        self.ids: dict[str, str] = {}

    def send(self, method: str, path: str, **kw: Any) -> Any:
        """A network request that must succeed; its JSON."""
        r = self.client.request(method, f"{V20}{path}", **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def create(self, collection: str, member: str, **body: Any) -> str:
        return str(self.send("POST", f"/{collection}", json={member: body})[member]["id"])

    def unique(self) -> int:
        self.serial += 1
        return self.serial

    def setup(self) -> None:
        """What every operation may name: projects, networks, subnets, ports, groups, router."""
        ids = self.ids
        token = self.client.get(
            "/identity/v3/auth/tokens",
            headers={"X-Subject-Token": self.client.headers["X-Auth-Token"]},
        )
        ids["admin_project"] = token.json()["token"]["project"]["id"]
        r = self.client.post("/identity/v3/projects", json={"project": {"name": "fuzz-project"}})
        ids["project"] = r.json()["project"]["id"]
        # Room for what the fuzzer makes, whatever it does to the other project's limits.
        unlimited = {name: -1 for name in quota.RESOURCES}
        self.send("PUT", f"/quotas/{ids['admin_project']}", json={"quota": unlimited})
        ids["external_network"] = self.create(
            "networks", "network", name="fuzz-public", **{"router:external": True}
        )
        ids["external_subnet"] = self.create(
            "subnets",
            "subnet",
            network_id=ids["external_network"],
            ip_version=4,
            cidr="203.0.113.0/24",
            enable_dhcp=False,
        )
        ids["network"] = self.create("networks", "network", name="fuzz-net")
        ids["subnet"] = self.create(
            "subnets", "subnet", network_id=ids["network"], ip_version=4, cidr="10.20.0.0/24"
        )
        ids["subnetpool"] = self.create(
            "subnetpools",
            "subnetpool",
            name="fuzz-pool",
            prefixes=["10.128.0.0/16"],
            default_prefixlen=24,
        )
        ids["security_group"] = self.create("security-groups", "security_group", name="fuzz-sg")
        ids["port"] = self.create("ports", "port", network_id=ids["network"], name="fuzz-port")
        ids["floatingip"] = self.create(
            "floatingips", "floatingip", floating_network_id=ids["external_network"]
        )
        ids["alias"] = next(iter(BY_ALIAS))
        ids["collection"], ids["tag"] = "networks", "fuzz-tag"
        self.router()

    # -- made anew -------------------------------------------------------------------

    def router(self) -> None:
        """A router with a gateway on the external network and an interface on a subnet."""
        ids = self.ids
        ids["router"] = self.create(
            "routers",
            "router",
            name=f"fuzz-router-{self.unique()}",
            external_gateway_info={"network_id": ids["external_network"]},
        )
        ids["router_subnet"] = self.subnet()
        body = {"subnet_id": ids["router_subnet"]}
        self.send("PUT", f"/routers/{ids['router']}/add_router_interface", json=body)

    def subnet(self) -> str:
        n = self.unique()
        return self.create(
            "subnets",
            "subnet",
            network_id=self.ids["network"],
            ip_version=4,
            cidr=f"10.{40 + n // 200}.{n % 200}.0/24",
        )

    def fresh(self, path: str) -> dict[str, str]:
        """Make anew what the operation at `path` may change; its path parameters' real values."""
        ids = self.ids
        segments = path.split("/")
        params = [
            (seg[1:-1], _KNOWN.get((before, seg[1:-1])))
            for before, seg in itertools.pairwise(segments)
            if seg.startswith("{")
        ]
        kinds = {kind for _, kind in params}
        makers = {
            "target_network": lambda: self.create("networks", "network", name="fuzz-target"),
            "target_subnet": self.subnet,
            "target_subnetpool": lambda: self.create(
                "subnetpools",
                "subnetpool",
                prefixes=[f"10.{150 + self.unique() % 100}.0.0/16"],
                default_prefixlen=24,
            ),
            "target_port": lambda: self.create("ports", "port", network_id=ids["network"]),
            "target_security_group": lambda: self.create(
                "security-groups", "security_group", name="fuzz-target"
            ),
            "target_rule": lambda: self.create(
                "security-group-rules",
                "security_group_rule",
                security_group_id=ids["security_group"],
                direction="ingress",
                protocol="tcp",
                port_range_min=1000 + self.unique(),
                port_range_max=2000,
            ),
            "target_floatingip": lambda: self.create(
                "floatingips", "floatingip", floating_network_id=ids["external_network"]
            ),
        }
        for kind in kinds:
            if kind in makers:
                ids[kind] = makers[kind]()
        if "router" in kinds:
            self.router()
        if "tagged" in kinds:
            ids["tagged"] = self.create("networks", "network", name="fuzz-tagged")
            self.send("PUT", f"/networks/{ids['tagged']}/tags/{ids['tag']}")
        return {name: ids[kind] for name, kind in params if kind is not None}

    def restore(self, method: str, path: str) -> None:
        """Delete what a POST on a collection made: address ranges and quotas stay free."""
        if method != "post":
            return
        keep = set(self.ids.values())
        for collection in ("floatingips", "ports", "routers", "subnets", "networks"):
            if not path.endswith(f"/{collection}"):
                continue
            for item in self.send("GET", f"/{collection}")[collection]:
                if item["id"] not in keep and not item.get("device_owner", "").startswith(
                    "network:"
                ):
                    self.client.delete(f"{V20}/{collection}/{item['id']}")


def _describe(
    app: Any,
    doc: dict[str, Any],
    route: tuple[str, str],
    body: dict[str, Any] | None,
    params: list[dict[str, Any]],
) -> Any:
    """One operation of the app's document as a schema of its own, with its body and filters."""
    path, method = route
    op = dict(doc["paths"][path][method])
    op["parameters"] = [p for p in op.get("parameters", []) if p["in"] == "path"] + params
    if body is not None:
        op["requestBody"] = body
    schema = schemathesis.openapi.from_dict({**doc, "paths": {path: {method: op}}})
    schema.app = app
    [operation] = [result.ok() for result in schema.get_all_operations()]
    return operation


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Identity and network only, on SQLite: the fuzz run is about the API, not the backend."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'stackling.db'}"
    return make_settings(tmp_path / "data", services=SERVICES, database={"url": url})


def test_network_api_has_no_server_errors(fuzz_app: Any) -> None:
    findings = Findings()
    with st_asgi.get_client(fuzz_app) as client:
        token = admin_token(client)
        client.headers["X-Auth-Token"] = token
        doc = client.get("/openapi.json").json()
        cloud = Cloud(client)
        cloud.setup()
        routes = [
            (path, method)
            for path, methods in doc["paths"].items()
            if path.startswith(V20)
            for method in methods
        ]
        described = set(neutron.bodies(cloud.ids)) | set(neutron.queries(cloud.ids))
        missing = {(m, p) for m, p in described if (p, m) not in routes}
        assert not missing, f"described operations the app does not have: {missing}"
        for path, method in routes:
            known = cloud.fresh(path)
            body = neutron.bodies(cloud.ids).get((method, path))
            params = neutron.queries(cloud.ids).get((method, path), [])
            operation = _describe(fuzz_app, doc, (path, method), body, params)
            examples = PARAM_EXAMPLES
            if params:
                examples = QUERY_EXAMPLES
            elif body is not None:
                examples = BODY_EXAMPLES
            fuzz_operation(
                operation,
                known or None,
                token,
                findings,
                examples,
                negative=body is not None or bool(params),
            )
            cloud.restore(method, path)
        # The fuzzer left the cloud usable: a new port still gets an address on the subnet.
        port = cloud.send("POST", "/ports", json={"port": {"network_id": cloud.ids["network"]}})
        assert port["port"]["fixed_ips"], port
    assert findings.requests > len(routes) * 4, findings.requests
    findings.assert_none("network operations")
