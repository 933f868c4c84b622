"""Schemathesis over the object APIs (Swift v1 and S3): no input may produce a 5xx.

Both APIs read raw headers, query strings and bodies, so the fuzzer is given what
their API references document (tests/support/swift_requests.py), one shape of
request at a time. Path parameters are real resources: the admin's account, a
container holding a plain object, a static large object of two segments and a
dynamic one, an S3 bucket with a key and a multipart upload with a part. What an
operation may delete or change is made anew for it (and put back after each
request that removed it). Every S3 request is SigV4-signed with the admin's EC2
credential, except a few sent unsigned or signed with a wrong secret.

Besides the 5xx, every Swift 4xx must be Swift's short text or HTML body, and every
S3 4xx S3's XML error document with a Code.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests
import schemathesis
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from schemathesis.python import asgi as st_asgi

from stackling.settings import Settings
from tests.conftest import make_settings
from tests.support import swift_requests as api
from tests.support.fuzz import Findings, admin_token, fuzz_operation

SERVICES = ["identity", "object"]
REGION = "us-east-1"
# Examples per strategy: operations with a body or many parameters get more.
EXAMPLES = 30
BODY_EXAMPLES = 40
# Of every S3_CYCLE S3 requests, one goes unsigned and one signed with a wrong secret.
S3_CYCLE = 9
SEGMENT_1, SEGMENT_2 = b"aaaaa", b"bbbbb"
# Operations that change or remove what they name: they get a container (or bucket) of
# their own, filled like the shared one.
_WRITES = {"put", "post", "delete"}


class S3Signer(requests.auth.AuthBase):
    """SigV4 over the request exactly as requests prepared it (URL, headers, body)."""

    def __init__(self, access: str, secret: str) -> None:
        self.credentials = Credentials(access, secret)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body if r.body is not None else b""
        if isinstance(body, str):
            body = body.encode()
        signed = AWSRequest(method=r.method, url=r.url, headers=dict(r.headers), data=body)
        S3SigV4Auth(self.credentials, "s3", REGION).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256"):
            r.headers[name] = signed.headers[name]
        return r


class Cloud:
    """The run's real resources, reached through the app's in-process client."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token
        self.serial = itertools.count(1)
        self.ids: dict[str, str] = {}
        self.signer: S3Signer | None = None

    def swift(self, method: str, path: str, ok: int = 300, **kw: Any) -> requests.Response:
        """A Swift request in the admin's account that must succeed."""
        url = f"/object/v1/AUTH_{self.ids['account']}{path}"
        r = self.client.request(method, url, **kw)
        assert r.status_code < ok, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def s3(self, method: str, path: str, **kw: Any) -> requests.Response:
        """A signed S3 request that must succeed."""
        r = self.client.request(method, f"/s3{path}", auth=self.signer, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.serial)}"

    def setup(self) -> None:
        """The account, its EC2 credential, the shared container, segments, bucket, upload."""
        body = self.client.get(
            "/identity/v3/auth/tokens", headers={"X-Subject-Token": self.token}
        ).json()["token"]
        ids = self.ids
        ids["account"], user = body["project"]["id"], body["user"]["id"]
        r = self.client.post(
            f"/identity/v3/users/{user}/credentials/OS-EC2", json={"tenant_id": ids["account"]}
        )
        assert r.status_code == 201, r.text
        cred = r.json()["credential"]
        ids["access"], ids["secret"] = cred["access"], cred["secret"]
        self.signer = S3Signer(cred["access"], cred["secret"])
        ids["segments"] = "fuzz-segments"
        self.swift("PUT", "/fuzz-segments")
        ids["seg_etag_1"] = self.swift("PUT", "/fuzz-segments/seg-1", data=SEGMENT_1).headers[
            "etag"
        ]
        self.swift("PUT", "/fuzz-segments/seg-2", data=SEGMENT_2)
        ids["container"] = self.container()
        ids["plain"], ids["slo"], ids["dlo"] = "plain", "slo", "dlo"
        ids["bucket"], ids["s3_key"] = ids["container"], "s3-key"
        self.s3("PUT", f"/{ids['bucket']}/s3-key", data=b"s3 data")
        self.upload()

    def container(self) -> str:
        """A new container with a plain object, an SLO and a DLO of the segments."""
        name = self.unique("fuzz")
        self.swift("PUT", f"/{name}")
        self.swift("PUT", f"/{name}/plain", data=b"0123456789", headers={"X-Object-Meta-A": "b"})
        manifest = api.slo_manifest(self.ids)
        self.swift("PUT", f"/{name}/slo?multipart-manifest=put", json=manifest)
        dlo = {"X-Object-Manifest": "fuzz-segments/seg-"}
        self.swift("PUT", f"/{name}/dlo", data=b"", headers=dlo)
        return name

    def upload(self) -> None:
        """A multipart upload of the shared bucket's key, with one part."""
        ids = self.ids
        r = self.s3("POST", f"/{ids['bucket']}/{ids['s3_key']}?uploads")
        ids["upload"] = ElementTree.fromstring(r.content).findtext("{*}UploadId") or ""
        part = f"/{ids['bucket']}/{ids['s3_key']}?partNumber=1&uploadId={ids['upload']}"
        ids["part_etag"] = self.s3("PUT", part, data=b"p" * 16).headers["etag"]

    def known(self, op: api.Operation, obj: str = "plain") -> dict[str, str]:
        """The real values of the operation's path parameters, made anew when it writes."""
        ids = self.ids
        writes = op.method in _WRITES or op.spec.get("x-method") == "COPY"
        place = self.container() if writes else ids["container"]
        if "?uploadId" in op.label or "?uploads" in op.label:
            self.upload()
        values = {
            "account": ids["account"],
            "container": place,
            "object": obj,
            "bucket": place,
            "key": ids["s3_key"] if place == ids["container"] else "plain",
        }
        return {name: values[name] for name in api.path_names(op.path)}

    def restore(self, op: api.Operation, known: dict[str, str]) -> Callable[[], None]:
        """What to run after each request: put back what a DELETE removed."""

        def after() -> None:
            if op.method != "delete" or "?uploadId" in op.label:
                return
            place = known.get("container") or known.get("bucket")
            self.swift("PUT", f"/{place}")
            if "object" in known or "key" in known:
                self.swift("PUT", f"/{place}/plain", data=b"0123456789")

        return after


@contextmanager
def hooks(cloud: Cloud, findings: Findings) -> Iterator[None]:
    """Sign S3 requests, send COPY as COPY, and check every 4xx body, for this run only."""
    sent = itertools.count()
    wrong = S3Signer("", "")

    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        method = case.operation.definition.raw.get("x-method")
        if method:
            case.method = method
        if not case.operation.path.startswith(api.S3):
            return
        assert cloud.signer is not None
        turn = next(sent) % S3_CYCLE
        if turn == 1:
            return  # unsigned: only public reads may pass
        if turn == 2:
            wrong.credentials = Credentials(cloud.ids["access"], "not-the-secret")
            kwargs["auth"] = wrong
            return
        kwargs["auth"] = cloud.signer

    def after_call(context: Any, case: Any, response: Any) -> None:
        if not 400 <= response.status_code < 500 or case.method == "HEAD":
            return
        label = f"{case.operation.schema.raw_schema['info']['title']} (4xx body)"
        ctype = (response.headers.get("content-type") or [""])[0]
        detail = f"{response.status_code} {ctype} {response.content[:300]!r}\n" + (
            case.as_curl_command(headers={"X-Auth-Token": "<admin>"})
        )
        if case.operation.path.startswith(api.S3):
            if not _is_s3_error(ctype, response.content):
                findings.record(label, detail)
        elif not ctype.startswith(("text/html", "text/plain")) or b"Traceback" in response.content:
            findings.record(label, detail)

    registered = [schemathesis.hook(before_call), schemathesis.hook(after_call)]
    try:
        yield
    finally:
        for hook in registered:
            schemathesis.hooks.GLOBAL_HOOK_DISPATCHER.unregister(hook)


def _is_s3_error(ctype: str, body: bytes) -> bool:
    if not ctype.startswith("application/xml"):
        return False
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return False
    return root.tag == "Error" and bool(root.findtext("Code"))


def _named_inside(ids: dict[str, str]) -> list[api.Operation]:
    """Operations on containers, objects and keys, in the real account, container or bucket."""
    swift = [
        api.fixed(op, account=ids["account"], container=ids["container"])
        if "{object}" in op.path
        else api.fixed(op, account=ids["account"])
        for op in api.swift_operations(ids)
        if "{container}" in op.path
    ]
    s3 = [
        api.fixed(op, bucket=ids["bucket"]) for op in api.s3_operations(ids) if "{key}" in op.path
    ]
    return swift + s3


def _operation(app: Any, op: api.Operation) -> Any:
    schema = schemathesis.openapi.from_dict(api.document(op))
    schema.app = app
    [operation] = [result.ok() for result in schema.get_all_operations()]
    return operation


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Identity and object on SQLite, the file store in tmp: the run is about the APIs."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'stackling.db'}"
    return make_settings(tmp_path / "data", services=SERVICES, database={"url": url})


def test_object_apis_have_no_server_errors(fuzz_app: Any) -> None:
    findings = Findings()
    with st_asgi.get_client(fuzz_app) as client:
        token = admin_token(client)
        client.headers["X-Auth-Token"] = token
        cloud = Cloud(client, token)
        cloud.setup()
        with hooks(cloud, findings):
            runs: list[tuple[api.Operation, str]] = []
            for op in api.swift_operations(cloud.ids):
                # GET and HEAD read each kind of object: plain, static and dynamic large.
                objects = ("plain", "slo", "dlo") if op.method in ("get", "head") else ("plain",)
                runs += [(op, obj) for obj in objects if "{object}" in op.path or obj == "plain"]
            runs += [(op, "plain") for op in api.s3_operations(cloud.ids)]
            for op, obj in runs:
                known = cloud.known(op, obj)
                # The documents name fresh uploads and sources: build them after `known`.
                ops = api.swift_operations(cloud.ids) + api.s3_operations(cloud.ids)
                [current] = [o for o in ops if o.label == op.label]
                examples = BODY_EXAMPLES if "requestBody" in current.spec else EXAMPLES
                fuzz_operation(
                    _operation(fuzz_app, current),
                    known or None,
                    token,
                    findings,
                    examples,
                    negative=bool(current.spec.get("parameters") or "requestBody" in current.spec),
                    label=current.label,
                    after=cloud.restore(current, known),
                )
            # Generated names in the real account, container or bucket: at a generated
            # account every request stops at the 403, in a generated container at the 404.
            for op in _named_inside(cloud.ids):
                examples = BODY_EXAMPLES if "requestBody" in op.spec else EXAMPLES
                fuzz_operation(_operation(fuzz_app, op), None, token, findings, examples,
                               negative=False, label=op.label)  # fmt: skip
        # The fuzzer left the APIs usable: a new container takes objects, S3 reads them.
        name = cloud.container()
        assert cloud.swift("GET", f"/{name}/plain").content == b"0123456789"
        assert cloud.s3("GET", f"/{name}/plain").content == b"0123456789"
    assert findings.requests > len(runs) * 10, findings.requests
    findings.assert_none("object operations")
