"""Schemathesis over the OpenAPI document (identity, then image): no input may produce a 5xx.

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
from typing import Any

import schemathesis
from schemathesis.python import asgi as st_asgi

from tests.support.fuzz import (
    PARAM_EXAMPLES,
    V3,
    Findings,
    admin_token,
    fuzz_operation,
    json_body,
    query,
)

# Examples per strategy of operations with a body (their input is what varies); the
# others only vary their path and header parameters (PARAM_EXAMPLES).
BODY_EXAMPLES = 20


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


def test_no_server_errors(fuzz_app: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FastAPI's duplicate operation id warnings
        schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100, "the OpenAPI document lost its operations"
    findings = Findings()
    with st_asgi.get_client(fuzz_app) as client:
        token = admin_token(client)
        client.headers["X-Auth-Token"] = token
        ids = _make_resources(client)
        for operation in operations:
            known = _known_path_parameters(operation.path, ids) or None
            examples = BODY_EXAMPLES if len(operation.body) > 0 else PARAM_EXAMPLES
            fuzz_operation(operation, known, token, findings, examples)
        # The admin token survived the run: the fuzzer did not break authentication.
        r = client.get(f"{V3}/auth/tokens", headers={"X-Subject-Token": token})
        assert r.status_code == 200, r.text
    assert findings.requests > len(operations) * 2, findings.requests
    findings.assert_none("operations")


# -- the image API ------------------------------------------------------------------------------
#
# The image routes read their bodies raw (JSON, JSON-patch or octets, as Glance
# does), so FastAPI's document has no request bodies or list filters for them.
# The fuzzer is given what Glance's API reference documents instead, and real
# images, members, tags and tasks for the path parameters, recreated for every
# operation so that a fuzzed DELETE does not starve the operations after it.

IMAGE_BODY_EXAMPLES = 8
V2 = "/image/v2"
PATCH_MEDIA_TYPE = "application/openstack-images-v2.1-json-patch"
# A JSON-patch body goes on the wire as JSON, under Glance's own media type.
schemathesis.serializer.alias(PATCH_MEDIA_TYPE, "application/json")
_STRING = {"type": "string"}
_PATCH_OP = {
    "type": "object",
    "properties": {
        "op": {"type": "string", "enum": ["add", "remove", "replace", "move", "test"]},
        "path": {"type": "string"},
        "value": {},
    },
    "required": ["op", "path"],
}


def _image_bodies() -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) → the request body Glance's API reference gives that operation."""
    from stackling.image import schemas

    image = schemas.image_schema()
    create = {
        "type": "object",
        "properties": {
            k: v for k, v in image["properties"].items() if not v.get("readOnly") or k == "id"
        },
        "additionalProperties": {"type": "string"},
    }
    octets = {"type": "string", "format": "binary"}
    return {
        ("post", f"{V2}/images"): json_body(create),
        ("patch", f"{V2}/images/{{image_id}}"): json_body(
            {"type": "array", "items": _PATCH_OP}, PATCH_MEDIA_TYPE
        ),
        ("put", f"{V2}/images/{{image_id}}/file"): json_body(octets, "application/octet-stream"),
        ("put", f"{V2}/images/{{image_id}}/stage"): json_body(octets, "application/octet-stream"),
        ("post", f"{V2}/images/{{image_id}}/import"): json_body(
            {
                "type": "object",
                "properties": {
                    "method": {
                        "type": "object",
                        "properties": {
                            "name": {
                                "type": "string",
                                "enum": ["glance-direct", "copy-image", "web-download"],
                            },
                            "uri": _STRING,
                        },
                        "required": ["name"],
                    },
                    "stores": {"type": "array", "items": _STRING},
                    "all_stores": {"type": "boolean"},
                    "all_stores_must_succeed": {"type": "boolean"},
                },
                "required": ["method"],
            }
        ),
        ("post", f"{V2}/images/{{image_id}}/members"): json_body(
            {"type": "object", "properties": {"member": _STRING}, "required": ["member"]}
        ),
        ("put", f"{V2}/images/{{image_id}}/members/{{member_id}}"): json_body(
            {
                "type": "object",
                "properties": {"status": {"type": "string", "enum": ["accepted", "rejected"]}},
                "required": ["status"],
            }
        ),
        ("post", f"{V2}/tasks"): json_body(
            {
                "type": "object",
                "properties": {"type": _STRING, "input": {"type": "object"}},
                "required": ["type", "input"],
            }
        ),
    }


_INTEGER = {"type": "integer"}
_WHEN = {
    "type": "string",
    "pattern": r"^((gt|gte|lt|lte|eq|neq):)?[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$",
}
_SORT_KEY = {"type": "string", "enum": ["name", "size", "created_at", "status", "id", "colour"]}
_IMAGE_QUERIES = {
    ("get", f"{V2}/images"): query(
        limit=_INTEGER,
        marker=_STRING,
        name=_STRING,
        id=_STRING,
        status={"type": "string", "enum": ["active", "queued", "in:active,queued", "asleep"]},
        visibility={"type": "string", "enum": ["public", "private", "shared", "community", "all"]},
        member_status={"type": "string", "enum": ["pending", "accepted", "rejected", "all", "x"]},
        owner=_STRING,
        tag=_STRING,
        size_min=_INTEGER,
        size_max=_INTEGER,
        min_ram=_INTEGER,
        disk_format=_STRING,
        created_at=_WHEN,
        updated_at=_WHEN,
        os_hidden={"type": "string", "enum": ["true", "false", "maybe"]},
        sort={
            "type": "string",
            "pattern": r"^(name|size|id|colour)(:(asc|desc|up))?(,size(:asc)?)?$",
        },
        sort_key=_SORT_KEY,
        sort_dir={"type": "string", "enum": ["asc", "desc", "sideways"]},
        os_distro=_STRING,
    ),
    ("get", f"{V2}/tasks"): query(
        limit=_INTEGER, marker=_STRING, status=_STRING, type=_STRING, sort_dir=_STRING
    ),
}
# Operations whose input is mostly their query string get more examples.
QUERY_EXAMPLES = 30


def _describe_image_api(doc: dict[str, Any]) -> None:
    """Give the image operations of an OpenAPI document their bodies and list filters."""
    for (method, path), body in _image_bodies().items():
        doc["paths"][path][method]["requestBody"] = body
    for (method, path), params in _IMAGE_QUERIES.items():
        doc["paths"][path][method].setdefault("parameters", []).extend(params)


def _make_image_resources(client: Any) -> dict[str, str]:
    """A fresh active image (member, tag, import task) and a fresh staged image."""

    def created(body: dict[str, Any]) -> str:
        r = client.post(f"{V2}/images", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def put(path: str, data: bytes) -> None:
        r = client.put(path, data=data, headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text

    active = created({"disk_format": "raw", "container_format": "bare", "tags": ["fuzz-tag"]})
    put(f"{V2}/images/{active}/file", b"fuzz image data" * 100)
    project = client.post(
        "/identity/v3/projects", json={"project": {"name": f"fuzz-{active[:8]}"}}
    ).json()["project"]["id"]
    r = client.post(f"{V2}/images/{active}/members", json={"member": project})
    assert r.status_code == 200, r.text
    staged = created({"disk_format": "raw", "container_format": "bare"})
    put(f"{V2}/images/{staged}/stage", b"staged fuzz data" * 100)
    r = client.post(f"{V2}/images/{staged}/import", json={"method": {"name": "glance-direct"}})
    assert r.status_code == 202, r.text
    task = client.get(f"{V2}/images/{staged}/tasks").json()["tasks"][0]["id"]
    queued = created({"disk_format": "raw", "container_format": "bare"})
    return {
        "active": active,
        "queued": queued,
        "member_id": project,
        "tag": "fuzz-tag",
        "task_id": task,
        "store_id": "file",
        "name": "image",
    }


def _image_path_parameters(operation: Any, ids: dict[str, str]) -> dict[str, str]:
    """Real values for the operation's path parameters: data goes to the queued image."""
    names = set(re.findall(r"\{([^}]+)\}", operation.path))
    takes_data = operation.path.endswith(("/file", "/stage", "/import"))
    out = {n: ids[n] for n in names if n in ids}
    if "image_id" in names:
        wants_queued = takes_data and operation.method.lower() != "get"
        out["image_id"] = ids["queued" if wants_queued else "active"]
    return out


def test_image_api_has_no_server_errors(fuzz_app: Any) -> None:
    findings = Findings()
    with st_asgi.get_client(fuzz_app) as client:
        token = admin_token(client)
        client.headers["X-Auth-Token"] = token
        doc = client.get("/openapi.json").json()
        _describe_image_api(doc)
        schema = schemathesis.openapi.from_dict(doc)
        schema.app = fuzz_app
        operations = [
            op
            for op in (result.ok() for result in schema.get_all_operations())
            if op.path.startswith("/image") and "/metadefs" not in op.path
        ]
        assert len(operations) >= 30, [op.path for op in operations]
        with_bodies = [op for op in operations if len(op.body) > 0]
        assert len(with_bodies) == len(_image_bodies()), "an image body was not attached"
        for operation in operations:
            ids = _make_image_resources(client)
            known = _image_path_parameters(operation, ids) or None
            queried = (operation.method.lower(), operation.path) in _IMAGE_QUERIES
            examples = PARAM_EXAMPLES
            if queried:
                examples = QUERY_EXAMPLES
            elif len(operation.body) > 0:
                examples = IMAGE_BODY_EXAMPLES
            fuzz_operation(operation, known, token, findings, examples)
        r = client.get(f"{V2}/images")
        assert r.status_code == 200, r.text
    assert findings.requests > len(operations) * 2, findings.requests
    findings.assert_none("image operations")
