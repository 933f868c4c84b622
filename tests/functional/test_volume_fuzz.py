"""Schemathesis over the volume API (Cinder v3, fake backend): no input may produce a 5xx.

The volume routes read raw JSON bodies, so the fuzzer is given what Cinder's API
reference documents (tests/support/cinder_requests.py): the bodies of the main
operations, each volume action on its own, and the list query strings. Every
request names a microversion among MICROVERSIONS. Path parameters are real
resources: a volume and a snapshot with metadata, a private type with an extra
spec, a QoS spec, an attachment, a backup, a transfer, a project, the volume
host; those an operation may delete or change are made anew for it, and each
volume action starts from a fresh volume in the state it applies to. The same
routes under /volume/v3/{project_id} get a lighter pass (examples and a few
generated cases).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.python import asgi as st_asgi

from stackling.settings import Settings
from tests.conftest import make_settings
from tests.support import cinder_requests as cinder
from tests.support.fuzz import (
    PARAM_EXAMPLES,
    Findings,
    admin_token,
    fuzz_operation,
    json_body,
    on_app_loop,
)

V3 = cinder.V3
SERVICES = ["identity", "image", "volume"]
MICROVERSIONS = ("latest", "3.0", "3.9", "3.27", "3.40", "3.44", "3.55", "3.64")
EXAMPLE_HEADERS = [{"OpenStack-API-Version": f"volume {v}"} for v in MICROVERSIONS]
BODY_EXAMPLES = 25
QUERY_EXAMPLES = 60
ACTION_EXAMPLES = 10
# Seconds a volume, snapshot or backup may take to leave a transitional state on the fake
# backend before the next request goes anyway.
SETTLE_S = 5.0
# Statuses an agent still has work for.
BUSY = {"creating", "deleting", "extending", "reverting", "uploading", "downloading",
        "backing-up", "restoring-backup", "restoring"}  # fmt: skip
# Each action starts from a volume in the state it applies to: the actions that get it there.
PRECONDITIONS: dict[str, tuple[str, ...]] = {
    "os-unreserve": ("os-reserve",),
    "os-begin_detaching": ("os-attach",),
    "os-roll_detaching": ("os-attach", "os-begin_detaching"),
    "os-detach": ("os-attach",),
    "os-terminate_connection": ("os-attach",),
    "os-unset_image_metadata": ("os-set_image_metadata",),
}
# Version documents are left to the generic pass of test_openapi_fuzz.
_VERSIONS = re.compile(rf"^{re.escape(V3)}/?$")
ACTION_PATH = f"{V3}/volumes/{{volume_id}}/action"
# Every resource is at /volume/v3/... and at /volume/v3/{project_id}/... alike; the second
# only gets the operations' examples (at one microversion) and a few generated cases.
PROJECT_PREFIX = f"{V3}/{{project_id}}"
PROJECT_EXAMPLE_HEADERS = [{"OpenStack-API-Version": "volume latest"}]
# (path segment, parameter after it) -> the key in Cloud.ids of the real value it takes.
_KNOWN = {
    ("volumes", "volume_id"): "target_volume",
    ("snapshots", "snapshot_id"): "target_snapshot",
    ("metadata", "key"): "meta_key",
    ("types", "type_id"): "target_type",
    ("extra_specs", "key"): "spec_key",
    ("qos-specs", "qos_id"): "target_qos",
    ("attachments", "attachment_id"): "target_attachment",
    ("backups", "backup_id"): "target_backup",
    ("os-volume-transfer", "transfer_id"): "target_transfer",
    ("volume-transfers", "transfer_id"): "target_transfer",
    ("os-quota-sets", "target_project"): "project",
    ("os-quota-class-sets", "class_name"): "quota_class",
    ("capabilities", "host"): "host",
    ("os-hosts", "host"): "host",
    ("messages", "message_id"): "message",
    ("os-services", "action"): "service_action",
    ("v3", "project_id"): "admin_project",
}


def _mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"volume {version}"}


def _plain(path: str) -> str:
    """The path without the project: what cinder_requests describes."""
    return path.replace(PROJECT_PREFIX, V3, 1)


class Cloud:
    """The real resources of the run: made once, or anew for each operation that needs it."""

    def __init__(self, app: Any, client: Any, token: str) -> None:
        self.app, self.client, self.token = app, client, token
        self.serial = 0
        self.ids: dict[str, str] = {}

    def send(self, method: str, path: str, version: str = "3.64", **kw: Any) -> Any:
        """A volume request that must succeed; its JSON."""
        r = self.client.request(method, f"{V3}{path}", headers=_mv(version), **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def unique(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def setup(self) -> None:
        """What every operation may name: projects, an image, a type, a volume, a snapshot."""
        ids = self.ids
        token = self.client.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": self.token})
        ids["admin_project"] = token.json()["token"]["project"]["id"]
        r = self.client.post("/identity/v3/projects", json={"project": {"name": "fuzz-project"}})
        ids["project"] = r.json()["project"]["id"]
        # Room for what the fuzzer makes, whatever it does to the quota classes.
        unlimited = {name: -1 for name in ("volumes", "snapshots", "gigabytes", "backups",
                                           "backup_gigabytes", "per_volume_gigabytes")}  # fmt: skip
        self.send("PUT", f"/os-quota-sets/{ids['admin_project']}", json={"quota_set": unlimited})
        ids["host"] = self.send("GET", "/os-services?binary=cinder-volume")["services"][0]["host"]
        ids["quota_class"], ids["message"] = "default", "fuzz-message"
        ids["meta_key"], ids["spec_key"] = "fuzz", "fuzz:spec"
        ids["image"] = self.image()
        ids["type"] = self.volume_type(public=True)
        ids["type_name"] = self.send("GET", f"/types/{ids['type']}")["volume_type"]["name"]
        ids["volume"] = self.volume()
        ids["snapshot"] = self.snapshot()
        # Until an operation makes its own (fresh, reach): real ids, or ones naming nothing.
        ids["spare_volume"] = ids["restore_volume"] = ids["volume"]
        ids["volume_snapshot"], ids["volume_attachment"] = ids["snapshot"], self.uuid()
        ids["auth_key"] = "0" * 16
        ids["service_action"] = "disable-log-reason"
        record = self.send("GET", f"/backups/{self.backup()}/export_record")["backup-record"]
        ids["backup_service"], ids["backup_url"] = record["backup_service"], record["backup_url"]

    # -- made anew -------------------------------------------------------------------

    def wait(self, path: str, key: str) -> dict[str, Any]:
        """The resource at `path` once no agent has work for it ({} when it is gone)."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            r = self.client.get(f"{V3}{path}", headers=_mv("3.64"))
            if r.status_code == 404:
                return {}
            item: dict[str, Any] = r.json()[key]
            if item["status"] not in BUSY or time.monotonic() > deadline:
                return item
            time.sleep(0.01)

    def image(self) -> str:
        """A small raw image with data, to create volumes from."""
        body = {"name": "fuzz-image", "disk_format": "raw", "container_format": "bare"}
        image_id = str(self.client.post("/image/v2/images", json=body).json()["id"])
        octets = {"Content-Type": "application/octet-stream"}
        r = self.client.put(f"/image/v2/images/{image_id}/file", data=b"x" * 512, headers=octets)
        assert r.status_code == 204, r.text
        return image_id

    def volume(self) -> str:
        """An available volume of 1 GiB."""
        body = {
            "volume": {
                "size": 1,
                "name": self.unique("fuzz-volume"),
                "metadata": {self.ids["meta_key"]: "v"},
            }
        }
        uuid = str(self.send("POST", "/volumes", json=body)["volume"]["id"])
        assert self.wait(f"/volumes/{uuid}", "volume")["status"] == "available"
        return uuid

    def snapshot(self, volume: str | None = None) -> str:
        """An available snapshot (of the shared volume unless named), with a metadata item."""
        body = {
            "snapshot": {
                "volume_id": volume or self.ids["volume"],
                "name": self.unique("fuzz-snapshot"),
                "metadata": {self.ids["meta_key"]: "v"},
            }
        }
        uuid = str(self.send("POST", "/snapshots", json=body)["snapshot"]["id"])
        assert self.wait(f"/snapshots/{uuid}", "snapshot")["status"] == "available"
        return uuid

    def volume_type(self, public: bool = False) -> str:
        """A type with an extra spec; a private one is shared with the fuzz project."""
        body = {
            "volume_type": {
                "name": self.unique("fuzz-type"),
                "os-volume-type-access:is_public": public,
                "extra_specs": {self.ids["spec_key"]: "1"},
            }
        }
        uuid = str(self.send("POST", "/types", json=body)["volume_type"]["id"])
        if not public:
            share = {"addProjectAccess": {"project": self.ids["project"]}}
            self.send("POST", f"/types/{uuid}/action", json=share)
        return uuid

    def qos(self) -> str:
        body = {"qos_specs": {"name": self.unique("fuzz-qos"), "read_iops_sec": "100"}}
        return str(self.send("POST", "/qos-specs", json=body)["qos_specs"]["id"])

    def attachment(self) -> str:
        """A reserved attachment of a fresh volume to an instance."""
        body = {"attachment": {"volume_uuid": self.volume(), "instance_uuid": self.uuid()}}
        return str(self.send("POST", "/attachments", json=body)["attachment"]["id"])

    def backup(self) -> str:
        """An available backup of the shared volume."""
        body = {"backup": {"volume_id": self.ids["volume"], "name": self.unique("fuzz-backup")}}
        uuid = str(self.send("POST", "/backups", json=body)["backup"]["id"])
        assert self.wait(f"/backups/{uuid}", "backup")["status"] == "available"
        self.wait(f"/volumes/{self.ids['volume']}", "volume")
        return uuid

    def transfer(self) -> str:
        """A transfer of a fresh volume; its auth key in ids."""
        body = {"transfer": {"volume_id": self.volume(), "name": self.unique("fuzz-transfer")}}
        transfer = self.send("POST", "/volume-transfers", json=body)["transfer"]
        self.ids["auth_key"] = transfer["auth_key"]
        return str(transfer["id"])

    def uuid(self) -> str:
        """A new instance id."""
        self.serial += 1
        return f"00000000-0000-4000-8000-{self.serial:012d}"

    def fresh(self, method: str, path: str) -> dict[str, str]:
        """Make anew what the operation at `path` may change; its path parameters' real values."""
        ids = self.ids
        params = [(p, _KNOWN.get(p)) for p in re.findall(r"([^/{}]+)/\{([^}]+)\}", path)]
        makers = {
            "target_volume": self.volume, "target_snapshot": self.snapshot,
            "target_type": self.volume_type, "target_qos": self.qos,
            "target_attachment": self.attachment, "target_backup": self.backup,
            "target_transfer": self.transfer,
        }  # fmt: skip
        for _, kind in params:
            if kind in makers:
                ids[kind] = makers[kind]()
        if method == "post" and _plain(path).endswith(("/attachments", *cinder.TRANSFERS)):
            ids["spare_volume"] = self.volume()
        if path.endswith("/restore"):
            ids["restore_volume"] = self.volume()
        return {name: ids[kind] for (_, name), kind in params if kind is not None}

    # -- between operations ------------------------------------------------------------

    def settle(self) -> None:
        """Wait (a little) for the agents: the next request meets a cloud at rest."""
        plugin = self.app.state.runtime.service("volume")

        async def drained(_: Any) -> None:
            await plugin.agent.drain()
            await plugin.backup_agent.drain()

        on_app_loop(self.app, self.token, drained)
        self.wait(f"/volumes/{self.ids['volume']}", "volume")

    def restore(self, path: str) -> None:
        """Undo what an operation did that would starve the ones after it: services enabled."""
        if "/os-services/" not in path:
            return
        for item in self.send("GET", "/os-services")["services"]:
            body = {"host": item["host"], "binary": item["binary"]}
            self.send("PUT", "/os-services/enable", json=body)
            self.send("PUT", "/os-services/thaw", json={"host": item["host"]})

    def reach(self, action: str, volume: str) -> None:
        """Take the fresh `volume` to the state `action` applies to."""
        examples = cinder.volume_actions(self.ids)
        for before in PRECONDITIONS.get(action, ()):
            self.send("POST", f"/volumes/{volume}/action", json=examples[before][1])
        if action == "os-detach":
            found = self.send("GET", f"/attachments?volume_id={volume}")["attachments"]
            self.ids["volume_attachment"] = found[0]["id"]
        if action == "revert":
            self.ids["volume_snapshot"] = self.snapshot(volume)


def _describe(app: Any, doc: dict[str, Any], ids: dict[str, str], route: tuple[str, str],
              body: dict[str, Any] | None) -> Any:  # fmt: skip
    """One operation of the app's document as a schema of its own, with its body and filters.

    Every request names one of MICROVERSIONS.
    """
    path, method = route
    op = dict(doc["paths"][path][method])
    params = [p for p in op.get("parameters", []) if p["in"] == "path"]
    params += cinder.queries(ids).get((method, _plain(path)), [])
    versions = {"type": "string", "enum": [f"volume {v}" for v in MICROVERSIONS]}
    params.append({"name": "OpenStack-API-Version", "in": "header", "required": True,
                   "schema": versions})  # fmt: skip
    op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    schema = schemathesis.openapi.from_dict({**doc, "paths": {path: {method: op}}})
    schema.app = app
    [operation] = [result.ok() for result in schema.get_all_operations()]
    return operation


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Identity, image and volume on the fake backend and SQLite: the run is about the API."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'stackling.db'}"
    return make_settings(
        tmp_path / "data",
        services=SERVICES,
        database={"url": url},
        volume={"backend": "fake"},
    )


def test_volume_api_has_no_server_errors(fuzz_app: Any) -> None:
    findings = Findings()
    with st_asgi.get_client(fuzz_app) as client:
        token = admin_token(client)
        client.headers["X-Auth-Token"] = token
        doc = client.get("/openapi.json").json()
        cloud = Cloud(fuzz_app, client, token)
        cloud.setup()
        routes = [
            (path, method)
            for path, methods in doc["paths"].items()
            if path.startswith(V3) and not _VERSIONS.match(path) and _plain(path) != ACTION_PATH
            for method in methods
        ]
        described = set(cinder.bodies(cloud.ids)) | set(cinder.queries(cloud.ids))
        missing = {(m, p) for m, p in described if (p, m) not in routes}
        assert not missing, f"described operations the app does not have: {missing}"
        for path, method in routes:
            known = cloud.fresh(method, path)
            body = cinder.bodies(cloud.ids).get((method, _plain(path)))
            queried = (method, _plain(path)) in cinder.queries(cloud.ids)
            operation = _describe(fuzz_app, doc, cloud.ids, (path, method), body)
            if path.startswith(PROJECT_PREFIX):
                fuzz_operation(
                    operation, known, token, findings, PARAM_EXAMPLES,
                    negative=False, example_headers=PROJECT_EXAMPLE_HEADERS,
                )  # fmt: skip
                cloud.settle()
                cloud.restore(path)
                continue
            examples = PARAM_EXAMPLES
            if queried:
                examples = QUERY_EXAMPLES
            elif body is not None:
                examples = BODY_EXAMPLES
            fuzz_operation(
                operation, known or None, token, findings, examples,
                negative=body is not None or queried, example_headers=EXAMPLE_HEADERS,
            )  # fmt: skip
            cloud.settle()
            cloud.restore(path)
        # Each action on its own, on a fresh volume in the state it applies to, each request
        # meeting a volume at rest: at generated volume ids they would all be 404s.
        for action in cinder.volume_actions(cloud.ids):
            known = cloud.fresh("post", ACTION_PATH)
            cloud.reach(action, known["volume_id"])
            schema, example = cinder.volume_actions(cloud.ids)[action]
            body = json_body(schema, example=example)
            operation = _describe(fuzz_app, doc, cloud.ids, (ACTION_PATH, "post"), body)
            volume = f"/volumes/{known['volume_id']}"

            def at_rest(volume: str = volume) -> None:
                cloud.wait(volume, "volume")

            fuzz_operation(
                operation, known, token, findings, ACTION_EXAMPLES,
                negative=True, generated_paths=False, label=f"POST {ACTION_PATH} {action}",
                example_headers=EXAMPLE_HEADERS, after=at_rest,
            )  # fmt: skip
        # The fuzzer left the cloud usable: a new volume still becomes available.
        cloud.settle()
        cloud.volume()
    assert findings.requests > len(routes) * 4, findings.requests
    findings.assert_none("volume operations")
