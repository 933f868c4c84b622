"""Bucket requests: list, create, head, delete, and the read-only location/versioning/acl."""

from __future__ import annotations

import re

from starlette.responses import Response

from stackling.common import errors
from stackling.object import models as m
from stackling.object.s3.call import S3Call
from stackling.object.s3.errors import S3Error
from stackling.object.s3.xmlbody import parse_create_bucket
from stackling.object.service import accounts, clock, containers, objects
from stackling.object.service.listing import Query

_S3_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP = re.compile(r"\d+\.\d+\.\d+\.\d+")
# Canned ACLs as the Swift read ACL that gives the same access (keystoneauth's view).
_CANNED_READ = {"private": "", "public-read": ".r:*,.rlistings"}
# Every canned ACL S3 defines.
_CANNED_ACLS = frozenset(
    {
        "private",
        "public-read",
        "public-read-write",
        "authenticated-read",
        "aws-exec-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
    }
)
_PAGE = 1000


def check_new_name(name: str) -> None:
    """S3's bucket naming rules, for buckets made through S3; InvalidBucketName otherwise."""
    if (
        not _S3_NAME.fullmatch(name)
        or ".." in name
        or ".-" in name
        or "-." in name
        or _IP.fullmatch(name)
    ):
        raise S3Error("InvalidBucketName", BucketName=name)


def check_name(call: S3Call) -> str:
    """The path's bucket name; a container name Swift made is usable even when S3 forbids it."""
    name = call.bucket or ""
    if not name or len(name.encode()) > call.svc.conf.max_container_name_length:
        raise S3Error("InvalidBucketName", BucketName=name)
    return name


async def bucket_of(call: S3Call) -> m.ObjectContainer:
    """The path's bucket in the caller's project; NoSuchBucket when there is none."""
    name = check_name(call)
    row = await containers.lookup(call.svc, call.project_id, name)
    if row is None:
        raise S3Error("NoSuchBucket", resource=name, BucketName=name)
    return row


async def list_buckets(call: S3Call) -> Response:
    """GET /s3: the project's buckets."""
    entries: list[tuple[str, object]] = []
    marker = ""
    while True:
        rows = await accounts.list_containers(
            call.svc, call.project_id, Query(limit=_PAGE, marker=marker)
        )
        for row in rows:
            entries.append(
                ("Bucket", {"Name": row.name, "CreationDate": clock.s3_iso(row.timestamp)})
            )
        if len(rows) < _PAGE:
            break
        marker = rows[-1].name
    return call.xml("ListAllMyBucketsResult", {"Owner": call.owner, "Buckets": entries})


async def create(call: S3Call) -> Response:
    """PUT bucket; re-creating one's own bucket succeeds, as in us-east-1."""
    name = call.bucket or ""
    check_new_name(name)
    parse_create_bucket(await call.read_body())
    canned = call.headers.get("x-amz-acl", "private")
    if canned not in _CANNED_READ:
        if canned in _CANNED_ACLS:
            raise S3Error("NotImplemented", f"The canned ACL {canned} is not supported.")
        # Not an ACL at all: the client's mistake, not a missing feature.
        raise S3Error("InvalidArgument", ArgumentName="x-amz-acl", ArgumentValue=canned)
    changes = {"x-container-read": _CANNED_READ[canned]} if "x-amz-acl" in call.headers else {}
    await containers.create_container(call.svc, call.project_id, name, changes)
    return call.reply(200, headers={"Location": f"/{name}"})


async def head(call: S3Call) -> Response:
    """HEAD bucket: 200 when it exists."""
    await bucket_of(call)
    return call.reply(200, headers={"x-amz-bucket-region": "us-east-1"})


async def delete(call: S3Call) -> Response:
    """DELETE bucket: only an empty one (its unfinished uploads go with it)."""
    name = check_name(call)
    try:
        await containers.delete_container(call.svc, call.project_id, name)
    except errors.NotFound:
        raise S3Error("NoSuchBucket", resource=name, BucketName=name) from None
    except errors.Conflict:
        raise S3Error("BucketNotEmpty", resource=name, BucketName=name) from None
    return call.reply(204)


async def location(call: S3Call) -> Response:
    """GET ?location: empty, which means us-east-1."""
    await bucket_of(call)
    return call.xml("LocationConstraint", [])


async def versioning(call: S3Call) -> Response:
    """GET ?versioning: never enabled through S3 (Status is left out, as for a new bucket)."""
    await bucket_of(call)
    return call.xml("VersioningConfiguration", [])


async def acl(call: S3Call) -> Response:
    """GET ?acl of a bucket or object: the owner has full control."""
    bucket = await bucket_of(call)
    if call.key is not None:
        await objects.get_object(call.svc, bucket.id, call.key)
    grants: list[tuple[str, object]] = [
        (
            "Grant",
            {
                "Grantee": [
                    ("@xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                    ("@xsi:type", "CanonicalUser"),
                    *call.owner.items(),
                ],
                "Permission": "FULL_CONTROL",
            },
        )
    ]
    if ".r:*" in (bucket.meta.get("x-container-read") or ""):
        grants.append(
            (
                "Grant",
                {
                    "Grantee": [
                        ("@xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
                        ("@xsi:type", "Group"),
                        ("URI", "http://acs.amazonaws.com/groups/global/AllUsers"),
                    ],
                    "Permission": "READ",
                },
            )
        )
    return call.xml("AccessControlPolicy", {"Owner": call.owner, "AccessControlList": grants})
