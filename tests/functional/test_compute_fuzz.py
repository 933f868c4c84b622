"""Schemathesis over the compute API (Nova v2.1, fake driver): no input may produce a 5xx.

The compute routes read raw JSON bodies, so the fuzzer is given what Nova's API
reference documents (tests/support/nova_requests.py): the bodies of the main
operations, each server action on its own, and the list filters. Every request
names a microversion among MICROVERSIONS. Path parameters are real resources: a
booted server, a flavor, a key pair, a server group, an aggregate, the compute
host; those an operation may delete or change are made anew for it, and a server
is booted again when the last operation left it anything but ACTIVE.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from schemathesis.python import asgi as st_asgi

from tests.support import nova_requests as nova
from tests.support.fuzz import (
    PARAM_EXAMPLES,
    Findings,
    admin_token,
    fuzz_operation,
    json_body,
    on_app_loop,
)
from tests.support.servers import V21, boot, boot_image, mv, wait_status

MICROVERSIONS = ("2.1", "2.37", "2.47", "2.57", "2.73", "2.90", "latest")
EXAMPLE_HEADERS = [{"OpenStack-API-Version": f"compute {v}"} for v in MICROVERSIONS]
BODY_EXAMPLES = 30
QUERY_EXAMPLES = 60
ACTION_EXAMPLES = 10
# Seconds an action's task may take on the fake driver before the next request goes anyway.
SETTLE_S = 5.0
# Each action starts from a server in the state it applies to: (action that gets it there, status).
PRECONDITIONS: dict[str, tuple[str, str | set[str]]] = {
    "os-start": ("os-stop", "SHUTOFF"),
    "unpause": ("pause", "PAUSED"),
    "resume": ("suspend", "SUSPENDED"),
    "confirmResize": ("resize", "VERIFY_RESIZE"),
    "revertResize": ("resize", "VERIFY_RESIZE"),
    "unrescue": ("rescue", "RESCUE"),
    "shelveOffload": ("shelve", {"SHELVED", "SHELVED_OFFLOADED"}),
    "unshelve": ("shelve", "SHELVED_OFFLOADED"),
    "unlock": ("lock", "ACTIVE"),
}
# Version documents are left to the generic pass of test_openapi_fuzz.
_VERSIONS = re.compile(rf"^{re.escape(V21)}/?$")
# (path segment, parameter after it) -> the key in Cloud.ids of the real value it takes.
_KNOWN = {
    ("servers", "server_id"): "server",
    ("metadata", "key"): "meta_key",
    ("tags", "tag"): "tag",
    ("os-instance-actions", "request_id"): "request_id",
    ("flavors", "flavor_id"): "flavor",
    ("os-extra_specs", "key"): "spec_key",
    ("os-keypairs", "name"): "target_keypair",
    ("os-server-groups", "group_id"): "target_group",
    ("os-aggregates", "aggregate_id"): "aggregate",
    ("images", "image_id"): "target_image",
    ("os-quota-sets", "project_id"): "project",
    ("os-quota-class-sets", "name"): "quota_class",
    ("os-simple-tenant-usage", "project_id"): "admin_project",
    ("os-services", "service_id"): "service",
    ("os-hypervisors", "node_id"): "node",
    ("os-hypervisors", "pattern"): "host",
    ("os-hosts", "host"): "host",
}


class Cloud:
    """The real resources of the run: made once, or anew for each operation that needs it."""

    def __init__(self, app: Any, client: Any, token: str, tmp_path: Path) -> None:
        self.app, self.client, self.token, self.tmp_path = app, client, token, tmp_path
        self.serial = 0
        self.ids: dict[str, str] = {"server": ""}

    def run(self, work: Any) -> Any:
        """An async helper of tests/support, on the app's loop."""
        return on_app_loop(self.app, self.token, work)

    def send(self, method: str, path: str, version: str = "2.1", **kw: Any) -> Any:
        """A compute request that must succeed; its JSON."""
        r = self.client.request(method, f"{V21}{path}", headers=mv(version), **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def unique(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def setup(self) -> None:
        """What every operation may name: image, key pair, group, projects, host, node."""
        ids = self.ids
        ids["image"] = self.run(lambda c: boot_image(c, self.tmp_path))
        ids["boot_flavor"] = "100"
        key = ed25519.Ed25519PrivateKey.generate().public_key()
        ids["public_key"] = key.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ).decode()
        ids["keypair"] = self.keypair()
        ids["group"] = self.group()
        token = self.client.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": self.token})
        ids["admin_project"] = token.json()["token"]["project"]["id"]
        ids["user"] = token.json()["token"]["user"]["id"]
        r = self.client.post("/identity/v3/projects", json={"project": {"name": "fuzz-project"}})
        ids["project"] = r.json()["project"]["id"]
        service = self.send("GET", "/os-services?binary=nova-compute", "2.53")["services"][0]
        ids["host"], ids["service"] = service["host"], service["id"]
        ids["node"] = self.send("GET", "/os-hypervisors", "2.53")["hypervisors"][0]["id"]
        ids["zone"], ids["quota_class"] = "fuzz-zone", "default"
        ids["meta_key"], ids["spec_key"], ids["tag"] = "fuzz-meta", "hw:cpu_policy", "fuzz-tag"
        # Room for the servers the fuzzer boots (not more: max_count may be huge), whatever
        # it does to the default quota class.
        limits = {
            "instances": 8, "cores": 16, "ram": 8 * 1024, "key_pairs": 100, "metadata_items": 128,
            "server_groups": 100, "server_group_members": 100,
        }  # fmt: skip
        self.send("PUT", f"/os-quota-sets/{ids['admin_project']}", json={"quota_set": limits})
        self.flavor()
        self.server()

    # -- made anew -------------------------------------------------------------------

    def server(self) -> None:
        """An ACTIVE, unlocked server with a metadata item and a tag (booted again if need be)."""
        if self.ids["server"]:
            r = self.client.get(f"{V21}/servers/{self.ids['server']}", headers=mv("2.73"))
            s = r.json().get("server", {}) if r.status_code == 200 else {}
            at_rest = not (s.get("locked") or s.get("OS-EXT-STS:task_state"))
            if s.get("status") == "ACTIVE" and at_rest:
                return
            self.client.delete(f"{V21}/servers/{self.ids['server']}")
        image, meta = self.ids["image"], {self.ids["meta_key"]: "v"}

        async def booted(c: httpx.AsyncClient) -> str:
            uuid = await boot(c, image, name="fuzz-server", metadata=meta)
            await wait_status(c, uuid, "ACTIVE")
            return uuid

        self.ids["server"] = self.run(booted)
        self.send("PUT", f"/servers/{self.ids['server']}/tags/{self.ids['tag']}", "2.26")

    def flavor(self) -> None:
        """A private flavor with an extra spec, shared with the fuzz project."""
        name = self.unique("fuzz-flavor")
        flavor = {"name": name, "id": name, "ram": 128, "vcpus": 1, "disk": 1}
        self.send(
            "POST", "/flavors", json={"flavor": {**flavor, "os-flavor-access:is_public": False}}
        )
        specs = {"extra_specs": {self.ids["spec_key"]: "shared"}}
        self.send("POST", f"/flavors/{name}/os-extra_specs", json=specs)
        share = {"addTenantAccess": {"tenant": self.ids["project"]}}
        self.send("POST", f"/flavors/{name}/action", json=share)
        self.ids["flavor"] = name

    def keypair(self) -> str:
        name = self.unique("fuzz-key")
        body = {"keypair": {"name": name, "public_key": self.ids["public_key"]}}
        self.send("POST", "/os-keypairs", json=body)
        self.ids["target_keypair"] = name
        return name

    def group(self) -> str:
        body = {"server_group": {"name": self.unique("fuzz-group"), "policies": ["affinity"]}}
        uuid = str(self.send("POST", "/os-server-groups", json=body)["server_group"]["id"])
        self.ids["target_group"] = uuid
        return uuid

    def aggregate(self) -> None:
        body = {"aggregate": {"name": self.unique("fuzz-aggregate")}}
        agg = self.send("POST", "/os-aggregates", json=body)["aggregate"]
        meta = {"set_metadata": {"metadata": {"k": "v"}}}
        self.send("POST", f"/os-aggregates/{agg['id']}/action", json=meta)
        self.ids["aggregate"] = str(agg["id"])

    def image(self) -> None:
        """An image the images proxy may delete, with a property as its metadata."""
        body = {"disk_format": "raw", "container_format": "bare", self.ids["meta_key"]: "v"}
        image_id = self.client.post("/image/v2/images", json=body).json()["id"]
        octets = {"Content-Type": "application/octet-stream"}
        self.client.put(f"/image/v2/images/{image_id}/file", data=b"x" * 512, headers=octets)
        self.ids["target_image"] = image_id

    def request_id(self) -> None:
        actions = self.send("GET", f"/servers/{self.ids['server']}/os-instance-actions")
        self.ids["request_id"] = actions["instanceActions"][-1]["request_id"]

    def fresh(self, path: str) -> dict[str, str]:
        """Make anew what the operation at `path` may change; its path parameters' real values."""
        self.server()
        params = [(p, _KNOWN.get(p)) for p in re.findall(r"([^/{}]+)/\{([^}]+)\}", path)]
        makers = {
            "flavor": self.flavor, "target_keypair": self.keypair, "target_group": self.group,
            "aggregate": self.aggregate, "target_image": self.image, "request_id": self.request_id,
        }  # fmt: skip
        for _, kind in params:
            if kind in makers:
                makers[kind]()
        return {name: self.ids[kind] for (_, name), kind in params if kind is not None}

    # -- between operations ------------------------------------------------------------

    def settle(self) -> None:
        """Wait (a little) for the task an action started: the next meets a server at rest."""
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            r = self.client.get(f"{V21}/servers/{self.ids['server']}")
            if r.status_code != 200 or not r.json()["server"]["OS-EXT-STS:task_state"]:
                return
            time.sleep(0.02)

    def reach(self, action: str) -> None:
        """Take the server to the state `action` applies to."""
        if action not in PRECONDITIONS:
            return
        before, status = PRECONDITIONS[action]
        body = nova.server_actions(self.ids)[before][1]
        uuid = self.ids["server"]
        self.send("POST", f"/servers/{uuid}/action", "latest", json=body)
        self.run(lambda c: wait_status(c, uuid, status))

    def restore(self, path: str) -> None:
        """Undo what an operation did that would starve the ones after it."""
        if "os-services" in path or "os-hosts" in path:
            body = {"status": "enabled", "forced_down": False}
            self.send("PUT", f"/os-services/{self.ids['service']}", "2.53", json=body)
        if path == f"{V21}/servers":
            for server in self.send("GET", "/servers?all_tenants=1")["servers"]:
                if server["id"] != self.ids["server"]:
                    self.client.delete(f"{V21}/servers/{server['id']}")
            deadline = time.monotonic() + 30
            while len(self.send("GET", "/servers?all_tenants=1")["servers"]) > 1:
                assert time.monotonic() < deadline, "servers the fuzzer booted were not deleted"
                time.sleep(0.05)


def _describe(app: Any, doc: dict[str, Any], ids: dict[str, str], route: tuple[str, str],
              body: dict[str, Any] | None) -> Any:  # fmt: skip
    """One operation of the app's document as a schema of its own, with its body and filters.

    Every request names one of MICROVERSIONS.
    """
    path, method = route
    op = dict(doc["paths"][path][method])
    params = [p for p in op.get("parameters", []) if p["in"] == "path"]
    params += nova.queries(ids).get(route, [])
    versions = {"type": "string", "enum": [f"compute {v}" for v in MICROVERSIONS]}
    params.append({"name": "OpenStack-API-Version", "in": "header", "required": True,
                   "schema": versions})  # fmt: skip
    op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    schema = schemathesis.openapi.from_dict({**doc, "paths": {path: {method: op}}})
    schema.app = app
    [operation] = [result.ok() for result in schema.get_all_operations()]
    return operation


def test_compute_api_has_no_server_errors(fuzz_app: Any, tmp_path: Path) -> None:
    findings = Findings()
    with st_asgi.get_client(fuzz_app) as client:
        token = admin_token(client)
        client.headers["X-Auth-Token"] = token
        doc = client.get("/openapi.json").json()
        cloud = Cloud(fuzz_app, client, token, tmp_path)
        cloud.setup()
        action_path = f"{V21}/servers/{{server_id}}/action"
        routes = [
            (path, method)
            for path, methods in doc["paths"].items()
            if path.startswith(V21) and not _VERSIONS.match(path) and path != action_path
            for method in methods
        ]
        described = set(nova.bodies(cloud.ids)) | set(nova.queries(cloud.ids))
        missing = {(m, p) for m, p in described if (p, m) not in routes}
        assert not missing, f"described operations the app does not have: {missing}"
        for path, method in routes:
            known = cloud.fresh(path)
            body = nova.bodies(cloud.ids).get((method, path))
            queried = (method, path) in nova.queries(cloud.ids)
            operation = _describe(fuzz_app, doc, cloud.ids, (path, method), body)
            examples = PARAM_EXAMPLES
            if queried:
                examples = QUERY_EXAMPLES
            elif body is not None:
                examples = BODY_EXAMPLES
            fuzz_operation(
                operation, known or None, token, findings, examples,
                negative=body is not None or queried, example_headers=EXAMPLE_HEADERS,
            )  # fmt: skip
            cloud.restore(path)
        # Each action on its own, from the state it applies to, each request meeting a
        # server at rest: at generated server ids they would all be 404s.
        for action in nova.server_actions(cloud.ids):
            known = cloud.fresh(action_path)
            cloud.flavor()  # one the server was never resized to
            cloud.reach(action)
            schema, example = nova.server_actions(cloud.ids)[action]
            body = json_body(schema, example=example)
            operation = _describe(fuzz_app, doc, cloud.ids, (action_path, "post"), body)
            fuzz_operation(
                operation, known, token, findings, ACTION_EXAMPLES,
                negative=True, generated_paths=False, label=f"POST {action_path} {action}",
                example_headers=EXAMPLE_HEADERS, after=cloud.settle,
            )  # fmt: skip
        # The fuzzer left the cloud usable: a new server still boots.
        cloud.ids["server"] = ""
        cloud.server()
    assert findings.requests > len(routes) * 4, findings.requests
    findings.assert_none("compute operations")
