"""S3 XML: response documents, error bodies, and request bodies parsed safely."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from stackling.object.s3 import xmlbody
from stackling.object.s3.errors import CODES, S3Error, expired, render

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def test_to_xml_builds_nested_namespaced_documents() -> None:
    when = datetime(2009, 10, 12, 17, 50, 30, 123456, tzinfo=UTC)
    body = xmlbody.to_xml(
        "ListBucketResult",
        [
            ("Name", "b<&>\"'"),
            ("Prefix", ""),
            ("Marker", None),
            ("MaxKeys", 1000),
            ("IsTruncated", False),
            ("Contents", [("Key", "a&b ü"), ("LastModified", when), ("Size", 3)]),
            ("Contents", {"Key": "c", "Size": 0}),
            (
                "Grantee",
                [("@xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"), ("ID", "x")],
            ),
        ],
    )
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns=')
    root = ET.fromstring(body)
    assert root.tag == f"{NS}ListBucketResult"
    assert root.findtext(f"{NS}Name") == "b<&>\"'"
    assert root.findtext(f"{NS}Prefix") == ""
    assert root.find(f"{NS}Marker") is None
    assert root.findtext(f"{NS}IsTruncated") == "false"
    contents = root.findall(f"{NS}Contents")
    assert [c.findtext(f"{NS}Key") for c in contents] == ["a&b ü", "c"]
    assert contents[0].findtext(f"{NS}LastModified") == "2009-10-12T17:50:30.123Z"
    assert root.find(f"{NS}Grantee") is not None


def test_iso8601_is_utc_with_milliseconds() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert xmlbody.iso8601(datetime(2024, 1, 1, 2, 0, tzinfo=plus_two)) == (
        "2024-01-01T00:00:00.000Z"
    )
    assert xmlbody.iso8601(datetime(2024, 1, 1, 0, 0, 0, 999999)) == "2024-01-01T00:00:00.999Z"


def test_to_xml_without_namespace_and_booleans() -> None:
    body = xmlbody.to_xml("R", [("T", True)], namespace=None)
    assert body.endswith(b"<R><T>true</T></R>")


def test_error_render_escapes_and_orders_fields() -> None:
    err = S3Error("NoSuchKey", resource="/b/<a&b>", Key="<a&b>\x01")
    body = render(err, "req-1")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey')
    root = ET.fromstring(body)
    assert [child.tag for child in root] == ["Code", "Message", "Key", "Resource", "RequestId"]
    assert root.findtext("Key") == "<a&b>\ufffd"
    assert root.findtext("Resource") == "/b/<a&b>"
    assert root.findtext("RequestId") == "req-1"
    assert err.status == 404


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDenied", 403),
        ("SignatureDoesNotMatch", 403),
        ("RequestTimeTooSkewed", 403),
        ("AuthorizationHeaderMalformed", 400),
        ("NoSuchBucket", 404),
        ("BucketNotEmpty", 409),
        ("InvalidRange", 416),
        ("MethodNotAllowed", 405),
        ("NotImplemented", 501),
        ("PreconditionFailed", 412),
        ("MissingContentLength", 411),
        ("XAmzContentSHA256Mismatch", 400),
        ("InternalError", 500),
    ],
)
def test_error_statuses(code: str, status: int) -> None:
    assert S3Error(code).status == status
    assert CODES[code][0] == status


def test_expired_presign_error() -> None:
    err = expired("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
    assert (err.code, err.status, err.message) == ("AccessDenied", 403, "Request has expired")
    assert b"<Expires>2024-01-01T00:00:00Z</Expires>" in render(err, "r")


def test_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        S3Error("NoSuchThing")


COMPLETE = b"""<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><PartNumber>1</PartNumber><ETag>"aaa"</ETag></Part>
  <Part><ETag>bbb</ETag><PartNumber>3</PartNumber></Part>
</CompleteMultipartUpload>"""


def test_parse_complete_multipart() -> None:
    parts = xmlbody.parse_complete_multipart(COMPLETE)
    assert parts == [xmlbody.CompletedPart(1, "aaa"), xmlbody.CompletedPart(3, "bbb")]
    # Without the namespace too.
    plain = COMPLETE.replace(b' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', b"")
    assert xmlbody.parse_complete_multipart(plain) == parts


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (COMPLETE.replace(b">3<", b">1<"), "InvalidPartOrder"),
        (COMPLETE.replace(b">3<", b">10001<"), "InvalidArgument"),
        (COMPLETE.replace(b">3<", b">x<"), "MalformedXML"),
        (b"<CompleteMultipartUpload/>", "MalformedXML"),
        (b"<Other><Part/></Other>", "MalformedXML"),
        (b"<CompleteMultipartUpload><Part>", "MalformedXML"),
        (b"", "MalformedXML"),
    ],
)
def test_parse_complete_multipart_rejects(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as caught:
        xmlbody.parse_complete_multipart(body)
    assert caught.value.code == code


def test_parse_delete() -> None:
    body = (
        b"<Delete><Quiet>true</Quiet><Object><Key>a &amp; b</Key></Object>"
        b"<Object><Key> k\xc3\xbc </Key><VersionId>v1</VersionId></Object></Delete>"
    )
    parsed = xmlbody.parse_delete(body)
    assert parsed.quiet
    assert parsed.objects == [("a & b", None), (" k\u00fc ", "v1")]
    assert not xmlbody.parse_delete(b"<Delete><Object><Key>a</Key></Object></Delete>").quiet


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete></Delete>",
        b"<Delete><Object><VersionId>v</VersionId></Object></Delete>",
        b"<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>",
        b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>",
    ],
)
def test_parse_delete_rejects(body: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        xmlbody.parse_delete(body)
    assert caught.value.code == "MalformedXML"


BOMBS = [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    b"<Delete><Object><Key>&lol2;</Key></Object></Delete>",
    b'<!doctype Delete SYSTEM "file:///etc/passwd"><Delete/>',
    b'<Delete><!ENTITY x "y"></Delete>',
]


@pytest.mark.parametrize("body", BOMBS)
def test_entities_and_doctypes_are_refused(body: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        xmlbody.parse_delete(body)
    assert caught.value.code == "MalformedXML"


def test_oversized_body_is_refused() -> None:
    with pytest.raises(S3Error) as caught:
        xmlbody.parse_xml(b"<Delete>" + b" " * xmlbody.MAX_BODY + b"</Delete>", "Delete")
    assert caught.value.code == "MalformedXML"


def test_parse_create_bucket() -> None:
    body = (
        b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<LocationConstraint>RegionOne</LocationConstraint></CreateBucketConfiguration>"
    )
    assert xmlbody.parse_create_bucket(body) == "RegionOne"
    assert xmlbody.parse_create_bucket(b"") is None
    assert xmlbody.parse_create_bucket(b"<CreateBucketConfiguration/>") is None
    with pytest.raises(S3Error):
        xmlbody.parse_create_bucket(b"<Nope/>")


def test_parse_versioning() -> None:
    body = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
    assert xmlbody.parse_versioning(body) == xmlbody.Versioning("Enabled", None)
    assert xmlbody.parse_versioning(b"<VersioningConfiguration/>").status is None
    with pytest.raises(S3Error) as caught:
        xmlbody.parse_versioning(
            b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>"
        )
    assert caught.value.code == "MalformedXML"
