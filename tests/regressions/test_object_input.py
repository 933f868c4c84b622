"""Inputs that once made the S3 API answer 5xx.

Each test is named after what it guards: a client's mistake is a 4xx in S3's XML
error format, never a 500 (or a 501 for what is not a missing feature), on SQLite
as on PostgreSQL. tests/functional/test_object_fuzz.py found them all.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from stackling.settings import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """A cloud serving identity and object, with the filesystem store."""
    return make_settings(
        tmp_path / "data", database={"url": db_url}, services=["identity", "object"]
    )


class S3:
    """Signed S3 requests with the admin's EC2 credential, through plain httpx."""

    def __init__(self, http: httpx.AsyncClient, access: str, secret: str) -> None:
        self.http, self.credentials = http, Credentials(access, secret)

    async def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """`path` (with its query, percent-encoded as sent) under /s3, SigV4-signed."""
        url = f"http://testserver/s3{path}"
        request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
        S3SigV4Auth(self.credentials, "s3", "us-east-1").add_auth(request)
        return await self.http.request(method, url, content=body, headers=dict(request.headers))


@pytest.fixture
async def s3(admin: httpx.AsyncClient) -> S3:
    """The admin's S3 client, with a bucket `bkt` holding the key `k`."""
    token = admin.headers["X-Auth-Token"]
    r = await admin.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": token})
    body = r.json()["token"]
    user, project = body["user"]["id"], body["project"]["id"]
    r = await admin.post(
        f"/identity/v3/users/{user}/credentials/OS-EC2", json={"tenant_id": project}
    )
    cred = r.json()["credential"]
    # The client's X-Auth-Token rides along unsigned: S3 goes by the signature alone.
    client = S3(admin, cred["access"], cred["secret"])
    assert (await client.send("PUT", "/bkt")).status_code == 200
    assert (await client.send("PUT", "/bkt/k", b"data")).status_code == 200
    return client


def error_code(r: httpx.Response) -> str:
    """The Code of an S3 XML error document."""
    assert r.headers["content-type"].startswith("application/xml"), r.headers
    root = ElementTree.fromstring(r.content)
    assert root.tag == "Error", r.text
    return root.findtext("Code") or ""


async def test_response_overrides_that_cannot_be_headers_are_400(s3: S3) -> None:
    # Outside latin-1 (starlette could not encode it), and a CR LF that would start a header.
    for value in ("%F1%B5%8B%A3", "inline%0D%0AX-Injected%3A%201"):
        r = await s3.send("GET", f"/bkt/k?response-content-disposition={value}")
        assert r.status_code == 400 and error_code(r) == "InvalidArgument"
        assert "x-injected" not in r.headers
        r = await s3.send("HEAD", f"/bkt/k?response-content-type={value}")
        assert r.status_code == 400 and r.content == b""
    r = await s3.send("GET", "/bkt/k?response-content-disposition=attachment%3B%20filename%3Dk")
    assert r.status_code == 200
    assert r.headers["content-disposition"] == "attachment; filename=k"


async def test_listing_uploads_with_max_uploads_zero_is_an_empty_page(s3: S3) -> None:
    assert (await s3.send("POST", "/bkt/k?uploads")).status_code == 200
    r = await s3.send("GET", "/bkt?max-uploads=0&uploads=")
    assert r.status_code == 200, r.text
    root = ElementTree.fromstring(r.content)
    assert root.findtext("{*}IsTruncated") == "false"
    assert root.findall("{*}Upload") == []
    assert root.findtext("{*}MaxUploads") == "0"


async def test_post_on_a_key_without_a_subresource_is_405(s3: S3) -> None:
    r = await s3.send("POST", "/bkt/k")
    assert r.status_code == 405 and error_code(r) == "MethodNotAllowed"
    assert "POST" not in r.headers["allow"] and "GET" in r.headers["allow"]
    # What S3 has and Stackling does not serve is still NotImplemented.
    r = await s3.send("GET", "/bkt?policy=")
    assert r.status_code == 501 and error_code(r) == "NotImplemented"


async def test_a_canned_acl_s3_does_not_define_is_400(s3: S3) -> None:
    r = await s3.send("PUT", "/cbk", headers={"x-amz-acl": "<Hmm>P\t}.Xl"})
    assert r.status_code == 400 and error_code(r) == "InvalidArgument"
    r = await s3.send("PUT", "/cbk", headers={"x-amz-acl": "public-read-write"})
    assert r.status_code == 501 and error_code(r) == "NotImplemented"
    assert (await s3.send("PUT", "/cbk", headers={"x-amz-acl": "public-read"})).status_code == 200
