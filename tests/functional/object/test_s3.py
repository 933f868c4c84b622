"""S3 through boto3 against the app on a real port: buckets, objects, listings, multipart.

boto3 is synchronous: its calls run in a worker thread while the server runs in the
test's event loop. Swift requests go through the same server with an admin token, to
show both APIs work on the same objects.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from stackling.settings import Settings
from tests.conftest import issue_token
from tests.support.identity import create_project, create_user, grant
from tests.support.serve import served

MIB = 1024 * 1024


@dataclass
class Cloud:
    """The served app: an admin HTTP client, its port, and S3 clients for EC2 credentials."""

    http: httpx.AsyncClient
    project_id: str
    user_id: str
    access: str
    secret: str

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""
        url = self.http.base_url
        return f"http://{url.host}:{url.port}/s3"

    def s3(self, access: str | None = None, secret: str | None = None, sig: str = "s3v4") -> Any:
        """A boto3 S3 client, path-style, for the given (default: the admin's) credential."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=access or self.access,
            aws_secret_access_key=secret or self.secret,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                signature_version=sig,
                retries={"max_attempts": 1},
            ),
        )

    def swift(self, path: str) -> str:
        """A Swift URL path in the admin's account."""
        return f"/object/v1/AUTH_{self.project_id}/{path}"


async def ec2_credential(http: httpx.AsyncClient, user_id: str, project_id: str) -> tuple[str, str]:
    """Create an EC2 credential through the identity API; (access, secret)."""
    r = await http.post(
        f"/identity/v3/users/{user_id}/credentials/OS-EC2", json={"tenant_id": project_id}
    )
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]
    return cred["access"], cred["secret"]


@pytest.fixture
async def cloud(settings: Settings) -> AsyncIterator[Cloud]:
    """The app on a free port, with the admin's EC2 credential."""
    async with served(settings) as http:
        token = await issue_token(http)
        http.headers["X-Auth-Token"] = token
        r = await http.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": token})
        body = r.json()["token"]
        project_id, user_id = body["project"]["id"], body["user"]["id"]
        access, secret = await ec2_credential(http, user_id, project_id)
        yield Cloud(http, project_id, user_id, access, secret)


async def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A blocking boto3 call, off the event loop the server runs in."""
    return await asyncio.to_thread(partial(fn, *args, **kwargs))


def _read_body(response: dict[str, Any]) -> dict[str, Any]:
    # The body streams from the server: read it in the worker thread too.
    if "Body" in response:
        response["Data"] = response["Body"].read()
    return response


async def get(fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """A boto3 GET whose body is read (as response["Data"]) off the event loop."""
    return await asyncio.to_thread(lambda: _read_body(fn(**kwargs)))


async def error_of(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The S3 error a boto3 call fails with (Code, and the HTTP status)."""
    with pytest.raises(ClientError) as info:
        await run(fn, *args, **kwargs)
    response = info.value.response
    return {
        "Code": response["Error"]["Code"],
        "Status": response["ResponseMetadata"]["HTTPStatusCode"],
    }


async def test_buckets_create_list_delete(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="alpha")
    # us-east-1 answers 200 to an owner re-creating its bucket.
    await run(s3.create_bucket, Bucket="alpha")
    await run(s3.create_bucket, Bucket="beta.two")
    listed = await run(s3.list_buckets)
    assert [b["Name"] for b in listed["Buckets"]] == ["alpha", "beta.two"]
    assert listed["Owner"]["ID"] == cloud.project_id
    await run(s3.head_bucket, Bucket="alpha")
    assert (await run(s3.get_bucket_location, Bucket="alpha"))["LocationConstraint"] is None
    assert "Status" not in await run(s3.get_bucket_versioning, Bucket="alpha")
    acl = await run(s3.get_bucket_acl, Bucket="alpha")
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    assert (await error_of(s3.create_bucket, Bucket="Bad_Name"))["Code"] == "InvalidBucketName"
    assert (await error_of(s3.create_bucket, Bucket="ab"))["Code"] == "InvalidBucketName"
    await run(s3.put_object, Bucket="alpha", Key="k", Body=b"x")
    err = await error_of(s3.delete_bucket, Bucket="alpha")
    assert err == {"Code": "BucketNotEmpty", "Status": 409}
    await run(s3.delete_object, Bucket="alpha", Key="k")
    await run(s3.delete_bucket, Bucket="alpha")
    assert (await error_of(s3.head_bucket, Bucket="alpha"))["Status"] == 404
    err = await error_of(s3.list_objects, Bucket="alpha")
    assert err == {"Code": "NoSuchBucket", "Status": 404}
    # A container Swift made with a name S3 would refuse is still usable.
    assert (await cloud.http.put(cloud.swift("Swift_Made"))).status_code == 201
    await run(s3.put_object, Bucket="Swift_Made", Key="k", Body=b"y")
    assert (await get(s3.get_object, Bucket="Swift_Made", Key="k"))["Data"] == b"y"


async def test_objects_round_trip(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="objs")
    data = bytes(range(256)) * 100
    put = await run(
        s3.put_object,
        Bucket="objs",
        Key="dir/file.bin",
        Body=data,
        ContentType="application/x-test",
        Metadata={"color": "blue"},
        ContentDisposition="attachment",
        CacheControl="no-cache",
    )
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = await get(s3.get_object, Bucket="objs", Key="dir/file.bin")
    assert got["Data"] == data
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"color": "blue"}
    assert got["ContentDisposition"] == "attachment"
    assert got["CacheControl"] == "no-cache"
    assert got["ContentLength"] == len(data)
    head = await run(s3.head_object, Bucket="objs", Key="dir/file.bin")
    assert head["ETag"] == put["ETag"] and head["ContentLength"] == len(data)
    part = await get(s3.get_object, Bucket="objs", Key="dir/file.bin", Range="bytes=10-19")
    assert part["Data"] == data[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    tail = await get(s3.get_object, Bucket="objs", Key="dir/file.bin", Range="bytes=-5")
    assert tail["Data"] == data[-5:]
    err = await error_of(
        s3.get_object, Bucket="objs", Key="dir/file.bin", Range=f"bytes={len(data)}-"
    )
    assert err == {"Code": "InvalidRange", "Status": 416}
    over = await get(
        s3.get_object,
        Bucket="objs",
        Key="dir/file.bin",
        ResponseContentType="text/plain",
        ResponseContentDisposition="inline",
    )
    assert over["ContentType"] == "text/plain" and over["ContentDisposition"] == "inline"
    err = await error_of(s3.get_object, Bucket="objs", Key="dir/file.bin", IfMatch='"nope"')
    assert err["Status"] == 412
    err = await error_of(s3.get_object, Bucket="objs", Key="dir/file.bin", IfNoneMatch=put["ETag"])
    assert err["Status"] == 304
    err = await error_of(s3.get_object, Bucket="objs", Key="missing")
    assert err == {"Code": "NoSuchKey", "Status": 404}
    assert (await error_of(s3.head_object, Bucket="objs", Key="missing"))["Status"] == 404
    # S3 answers 204 to deleting a key that is not there.
    deleted = await run(s3.delete_object, Bucket="objs", Key="missing")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    await run(s3.delete_object, Bucket="objs", Key="dir/file.bin")
    assert (await error_of(s3.head_object, Bucket="objs", Key="dir/file.bin"))["Status"] == 404


async def test_content_md5_is_checked(cloud: Cloud) -> None:
    r = await cloud.http.put(cloud.swift("md5"))
    assert r.status_code == 201
    s3 = cloud.s3()
    wrong = "1B2M2Y8AsgTpgAmY7PhCfg=="  # the MD5 of nothing
    err = await error_of(s3.put_object, Bucket="md5", Key="k", Body=b"data", ContentMD5=wrong)
    assert err == {"Code": "BadDigest", "Status": 400}
    err = await error_of(s3.put_object, Bucket="md5", Key="k", Body=b"data", ContentMD5="zz")
    assert err == {"Code": "InvalidDigest", "Status": 400}
    assert (await error_of(s3.head_object, Bucket="md5", Key="k"))["Status"] == 404


async def test_listing_v1_and_v2(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="list")
    keys = ["a/1", "a/2", "b/1", "c", "d", "e/x/y", "f"]
    for key in keys:
        await run(s3.put_object, Bucket="list", Key=key, Body=key.encode())
    flat = await run(s3.list_objects, Bucket="list")
    assert [o["Key"] for o in flat["Contents"]] == keys
    assert flat["Contents"][0]["Size"] == 3 and flat["Contents"][0]["StorageClass"] == "STANDARD"
    assert flat["IsTruncated"] is False
    # v1 paged with a delimiter: NextMarker may be a common prefix.
    seen: list[str] = []
    marker = ""
    while True:
        page = await run(s3.list_objects, Bucket="list", Delimiter="/", MaxKeys=2, Marker=marker)
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert sorted(seen) == ["a/", "b/", "c", "d", "e/", "f"]
    pre = await run(s3.list_objects, Bucket="list", Prefix="a/")
    assert [o["Key"] for o in pre["Contents"]] == ["a/1", "a/2"]
    # v2 with continuation tokens.
    seen = []
    pages = 0
    kwargs: dict[str, Any] = {"Bucket": "list", "MaxKeys": 3}
    while True:
        page = await run(s3.list_objects_v2, **kwargs)
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", [])) + len(
            page.get("CommonPrefixes", [])
        )
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    assert seen == keys and pages == 3
    deep = await run(s3.list_objects_v2, Bucket="list", Delimiter="/", Prefix="e/")
    assert [p["Prefix"] for p in deep["CommonPrefixes"]] == ["e/x/"]
    after = await run(s3.list_objects_v2, Bucket="list", StartAfter="c", FetchOwner=True)
    assert [o["Key"] for o in after["Contents"]] == ["d", "e/x/y", "f"]
    assert after["Contents"][0]["Owner"]["ID"] == cloud.project_id
    plain = await run(s3.list_objects_v2, Bucket="list", MaxKeys=1)
    assert "Owner" not in plain["Contents"][0]


async def test_copy_and_multi_delete(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="src")
    await run(s3.create_bucket, Bucket="dst")
    await run(s3.put_object, Bucket="src", Key="a b", Body=b"payload", Metadata={"m": "1"})
    await run(s3.put_object, Bucket="src", Key="ünï/cödé+&", Body=b"u")
    # botocore asks for encoding-type=url and decodes the keys back.
    listed = await run(s3.list_objects_v2, Bucket="src")
    assert [o["Key"] for o in listed["Contents"]] == ["a b", "ünï/cödé+&"]
    listed = await run(s3.list_objects, Bucket="src", Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["ünï/"]
    await run(s3.delete_object, Bucket="src", Key="ünï/cödé+&")
    done = await run(
        s3.copy_object, Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": "a b"}
    )
    assert done["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    got = await get(s3.get_object, Bucket="dst", Key="copy")
    assert got["Data"] == b"payload" and got["Metadata"] == {"m": "1"}
    await run(
        s3.copy_object,
        Bucket="dst",
        Key="replaced",
        CopySource="src/a b",
        MetadataDirective="REPLACE",
        Metadata={"n": "2"},
        ContentType="text/x-new",
    )
    got = await run(s3.head_object, Bucket="dst", Key="replaced")
    assert got["Metadata"] == {"n": "2"} and got["ContentType"] == "text/x-new"
    err = await error_of(
        s3.copy_object, Bucket="dst", Key="x", CopySource={"Bucket": "src", "Key": "nope"}
    )
    assert err == {"Code": "NoSuchKey", "Status": 404}
    err = await error_of(
        s3.copy_object, Bucket="src", Key="a b", CopySource={"Bucket": "src", "Key": "a b"}
    )
    assert err["Code"] == "InvalidRequest"
    result = await run(
        s3.delete_objects,
        Bucket="dst",
        Delete={"Objects": [{"Key": "copy"}, {"Key": "replaced"}, {"Key": "never"}]},
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["copy", "never", "replaced"]
    assert "Contents" not in await run(s3.list_objects_v2, Bucket="dst")
    quiet = await run(
        s3.delete_objects, Bucket="src", Delete={"Objects": [{"Key": "a b"}], "Quiet": True}
    )
    assert "Deleted" not in quiet
    assert (await error_of(s3.head_object, Bucket="src", Key="a b"))["Status"] == 404


async def test_multipart_upload(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="mp1")
    started = await run(s3.create_multipart_upload, Bucket="mp1", Key="big", Metadata={"k": "v"})
    upload_id = started["UploadId"]
    parts = [bytes([65 + i]) * (5 * MIB) for i in range(2)] + [b"tail"]
    etags = []
    for number, data in enumerate(parts, start=1):
        done = await run(
            s3.upload_part,
            Bucket="mp1",
            Key="big",
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
        )
        assert done["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        etags.append(done["ETag"])
    # Uploading part 2 again replaces it.
    await run(
        s3.upload_part, Bucket="mp1", Key="big", UploadId=upload_id, PartNumber=2, Body=parts[1]
    )
    listed = await run(s3.list_parts, Bucket="mp1", Key="big", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [
        (1, 5 * MIB),
        (2, 5 * MIB),
        (3, 4),
    ]
    uploads = await run(s3.list_multipart_uploads, Bucket="mp1")
    assert [u["UploadId"] for u in uploads["Uploads"]] == [upload_id]
    wrong = [{"PartNumber": 1, "ETag": etags[1]}]
    err = await error_of(
        s3.complete_multipart_upload,
        Bucket="mp1",
        Key="big",
        UploadId=upload_id,
        MultipartUpload={"Parts": wrong},
    )
    assert err == {"Code": "InvalidPart", "Status": 400}
    done = await run(
        s3.complete_multipart_upload,
        Bucket="mp1",
        Key="big",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]
        },
    )
    joined = b"".join(bytes.fromhex(e.strip('"')) for e in etags)
    expected = f'"{hashlib.md5(joined).hexdigest()}-3"'
    assert done["ETag"] == expected and done["Key"] == "big"
    got = await get(s3.get_object, Bucket="mp1", Key="big")
    assert got["ETag"] == expected and got["Metadata"] == {"k": "v"}
    assert got["Data"] == b"".join(parts)
    assert (await run(s3.list_multipart_uploads, Bucket="mp1")).get("Uploads", []) == []
    err = await error_of(s3.list_parts, Bucket="mp1", Key="big", UploadId=upload_id)
    assert err == {"Code": "NoSuchUpload", "Status": 404}
    # Swift sees the completed object, listed with the multipart ETag.
    r = await cloud.http.get(cloud.swift("mp1"), params={"format": "json"})
    assert [(o["name"], o["hash"], o["bytes"]) for o in r.json()] == [
        ("big", expected.strip('"'), 10 * MIB + 4)
    ]


async def test_multipart_small_parts_and_abort(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="mp2")
    upload_id = (await run(s3.create_multipart_upload, Bucket="mp2", Key="k"))["UploadId"]
    etags = []
    for number in (1, 2):
        done = await run(
            s3.upload_part, Bucket="mp2", Key="k", UploadId=upload_id, PartNumber=number, Body=b"x"
        )
        etags.append(done["ETag"])
    err = await error_of(
        s3.complete_multipart_upload,
        Bucket="mp2",
        Key="k",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]
        },
    )
    assert err == {"Code": "EntityTooSmall", "Status": 400}
    aborted = await run(s3.abort_multipart_upload, Bucket="mp2", Key="k", UploadId=upload_id)
    assert aborted["ResponseMetadata"]["HTTPStatusCode"] == 204
    err = await error_of(
        s3.upload_part, Bucket="mp2", Key="k", UploadId=upload_id, PartNumber=3, Body=b"y"
    )
    assert err == {"Code": "NoSuchUpload", "Status": 404}
    assert (await error_of(s3.head_object, Bucket="mp2", Key="k"))["Status"] == 404
    # The bucket is empty again: no part is left behind.
    await run(s3.delete_bucket, Bucket="mp2")


async def test_presigned_get(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="pre")
    await run(s3.put_object, Bucket="pre", Key="doc.txt", Body=b"shared")
    url = await run(
        s3.generate_presigned_url,
        "get_object",
        Params={"Bucket": "pre", "Key": "doc.txt"},
        ExpiresIn=300,
    )
    async with httpx.AsyncClient() as plain:
        r = await plain.get(url)
        assert r.status_code == 200 and r.content == b"shared"
        r = await plain.get(url[:-1] + ("0" if url[-1] != "0" else "1"))
        assert r.status_code == 403
        assert "<Code>" in r.text
        # Without a signature, a private bucket is closed.
        r = await plain.get(url.split("?")[0])
        assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text
        assert r.headers["x-amz-request-id"]


async def test_public_read_bucket_is_open_to_anonymous_reads(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="open", ACL="public-read")
    await run(s3.put_object, Bucket="open", Key="pub", Body=b"for all")
    async with httpx.AsyncClient() as plain:
        r = await plain.get(f"{cloud.endpoint}/open/pub")
        assert r.status_code == 200 and r.content == b"for all"
        r = await plain.put(f"{cloud.endpoint}/open/pub", content=b"no")
        assert r.status_code == 403


async def test_credentials_are_checked(cloud: Cloud) -> None:
    err = await error_of(cloud.s3(secret="not-the-secret").list_buckets)
    assert err == {"Code": "SignatureDoesNotMatch", "Status": 403}
    err = await error_of(cloud.s3(access="no-such-key").list_buckets)
    assert err == {"Code": "InvalidAccessKeyId", "Status": 403}
    err = await error_of(cloud.s3().get_bucket_policy, Bucket="xyz")
    assert err == {"Code": "NotImplemented", "Status": 501}
    async with httpx.AsyncClient() as plain:
        r = await plain.head(f"{cloud.endpoint}/xyz/k")
        assert r.status_code == 403 and r.content == b""
        assert r.headers["x-amz-request-id"]


async def test_sigv2_client(cloud: Cloud) -> None:
    s3 = cloud.s3(sig="s3")
    await run(s3.create_bucket, Bucket="sig-v2")
    await run(s3.put_object, Bucket="sig-v2", Key="k/ey", Body=b"v2 data", Metadata={"a": "b"})
    got = await get(s3.get_object, Bucket="sig-v2", Key="k/ey")
    assert got["Data"] == b"v2 data" and got["Metadata"] == {"a": "b"}
    listed = await run(s3.list_objects, Bucket="sig-v2")
    assert [o["Key"] for o in listed["Contents"]] == ["k/ey"]
    err = await error_of(cloud.s3(secret="wrong", sig="s3").list_buckets)
    assert err == {"Code": "SignatureDoesNotMatch", "Status": 403}


async def test_other_projects_buckets_are_not_there(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="mine")
    await run(s3.put_object, Bucket="mine", Key="k", Body=b"secret")
    project = await create_project(cloud.http)
    user = await create_user(cloud.http)
    await grant(cloud.http, "member", user=user["id"], project=project["id"])
    access, secret = await ec2_credential(cloud.http, user["id"], project["id"])
    other = cloud.s3(access, secret)
    assert (await run(other.list_buckets))["Buckets"] == []
    # Bucket names are per project: someone else's bucket is simply not there.
    err = await error_of(other.get_object, Bucket="mine", Key="k")
    assert err == {"Code": "NoSuchBucket", "Status": 404}
    # The same name is free in the other project, and stays apart from the first.
    await run(other.create_bucket, Bucket="mine")
    assert "Contents" not in await run(other.list_objects_v2, Bucket="mine")
    # A user without a role on the credential's project is refused.
    outsider = await create_user(cloud.http)
    await grant(cloud.http, "member", user=outsider["id"], project=project["id"])
    access, secret = await ec2_credential(cloud.http, outsider["id"], project["id"])
    r = await cloud.http.delete(
        f"/identity/v3/projects/{project['id']}/users/{outsider['id']}/roles/"
        + (await cloud.http.get("/identity/v3/roles", params={"name": "member"})).json()["roles"][
            0
        ]["id"]
    )
    assert r.status_code == 204
    err = await error_of(cloud.s3(access, secret).list_buckets)
    assert err == {"Code": "AccessDenied", "Status": 403}


async def test_swift_and_s3_see_the_same_objects(cloud: Cloud) -> None:
    http = cloud.http
    assert (await http.put(cloud.swift("shared"))).status_code == 201
    r = await http.put(
        cloud.swift("shared/from-swift"),
        content=b"swift bytes",
        headers={"X-Object-Meta-Origin": "swift", "Content-Type": "text/x-swift"},
    )
    assert r.status_code == 201
    s3 = cloud.s3()
    got = await get(s3.get_object, Bucket="shared", Key="from-swift")
    assert got["Data"] == b"swift bytes"
    assert got["Metadata"] == {"origin": "swift"} and got["ContentType"] == "text/x-swift"
    await run(
        s3.put_object,
        Bucket="shared",
        Key="from-s3",
        Body=b"s3 bytes",
        Metadata={"origin": "s3"},
        ContentType="text/x-s3",
    )
    r = await http.get(cloud.swift("shared/from-s3"))
    assert r.status_code == 200 and r.content == b"s3 bytes"
    assert r.headers["x-object-meta-origin"] == "s3"
    assert r.headers["content-type"] == "text/x-s3"
    assert r.headers["etag"] == hashlib.md5(b"s3 bytes").hexdigest()
    r = await http.get(cloud.swift("shared"), params={"format": "json"})
    assert [o["name"] for o in r.json()] == ["from-s3", "from-swift"]
    await run(s3.delete_object, Bucket="shared", Key="from-swift")
    assert (await http.head(cloud.swift("shared/from-swift"))).status_code == 404
    r = await http.head(cloud.swift("shared"))
    assert r.headers["x-container-object-count"] == "1"


STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class _StreamingAuth(S3SigV4Auth):
    """botocore's SigV4 signer, declaring an aws-chunked payload (as the Java SDK sends)."""

    def payload(self, request: Any) -> str:
        return STREAMING


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def aws_chunked_put(
    cloud: Cloud, path: str, data: bytes, *, size: int = 4096, tamper: bool = False
) -> tuple[str, dict[str, str], bytes]:
    """(url, headers, body) of a PUT whose body is aws-chunked, every chunk signed."""
    pieces = [data[i : i + size] for i in range(0, len(data), size)] + [b""]
    # Each chunk: hex size, ";chunk-signature=" and 64 hex digits, CRLF, data, CRLF.
    length = sum(len(f"{len(p):x}") + 17 + 64 + 2 + len(p) + 2 for p in pieces)
    url = f"{cloud.endpoint}/{path}"
    request = AWSRequest(
        "PUT",
        url,
        headers={
            "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)),
            "Content-Length": str(length),
        },
    )
    _StreamingAuth(Credentials(cloud.access, cloud.secret), "s3", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    amz_date = headers["X-Amz-Date"]
    previous = headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = _hmac(("AWS4" + cloud.secret).encode(), amz_date[:8])
    for part in ("us-east-1", "s3", "aws4_request"):
        key = _hmac(key, part)
    body = bytearray()
    for piece in pieces:
        to_sign = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(piece).hexdigest(),
            )
        )
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        sent = piece[:-1] + b"!" if tamper and piece else piece
        body += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + sent + b"\r\n"
    assert len(body) == length
    return url, headers, bytes(body)


async def test_aws_chunked_upload_is_verified_and_decoded(cloud: Cloud) -> None:
    s3 = cloud.s3()
    await run(s3.create_bucket, Bucket="chunked")
    data = bytes(range(256)) * 50
    async with httpx.AsyncClient() as plain:
        url, headers, body = aws_chunked_put(cloud, "chunked/obj", data)
        r = await plain.put(url, headers=headers, content=body)
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
        got = await get(s3.get_object, Bucket="chunked", Key="obj")
        assert got["Data"] == data
        # aws-chunked is how the body travelled, not how the object is encoded.
        assert "ContentEncoding" not in got
        url, headers, body = aws_chunked_put(cloud, "chunked/bad", data, tamper=True)
        r = await plain.put(url, headers=headers, content=body)
        assert r.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in r.text
    assert (await error_of(s3.head_object, Bucket="chunked", Key="bad"))["Status"] == 404


async def test_swift_large_objects_are_served_assembled(cloud: Cloud) -> None:
    http = cloud.http
    assert (await http.put(cloud.swift("large"))).status_code == 201
    segments = [b"first-", b"second-", b"third"]
    for n, data in enumerate(segments):
        assert (await http.put(cloud.swift(f"large/seg/{n}"), content=data)).status_code == 201
    manifest = [
        {"path": f"/large/seg/{n}", "etag": hashlib.md5(d).hexdigest(), "size_bytes": len(d)}
        for n, d in enumerate(segments)
    ]
    r = await http.put(
        cloud.swift("large/slo"), params={"multipart-manifest": "put"}, json=manifest
    )
    assert r.status_code == 201, r.text
    r = await http.put(
        cloud.swift("large/dlo"), content=b"", headers={"X-Object-Manifest": "large/seg/"}
    )
    assert r.status_code == 201, r.text
    s3 = cloud.s3()
    whole = b"".join(segments)
    for key in ("slo", "dlo"):
        got = await get(s3.get_object, Bucket="large", Key=key)
        assert got["Data"] == whole, key
        part = await get(s3.get_object, Bucket="large", Key=key, Range="bytes=3-9")
        assert part["Data"] == whole[3:10], key
        head = await run(s3.head_object, Bucket="large", Key=key)
        assert head["ContentLength"] == len(whole), key
