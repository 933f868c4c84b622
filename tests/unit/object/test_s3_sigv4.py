"""S3 request signatures: what botocore signs must verify, anything altered must not."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import boto3
import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from stackling.object.s3 import sigv4
from stackling.object.s3.errors import S3Error

ACCESS_KEY = "0123456789abcdef0123456789abcdef"
SECRET = "s3cr3t/with+odd=chars"
CREDS = Credentials(ACCESS_KEY, SECRET)
ENDPOINT = "http://127.0.0.1:8780/s3"

# Keys and query values that break naive encoders: spaces, unicode, "~", "+", "=", "/".
ODD_KEY = "dir/ünï cødé~+=&?%.txt"
QUERIES = [
    "",
    "uploads",
    "list-type=2&prefix=a%20b&delimiter=%2F",
    "prefix=%C3%BCn%C3%AF&max-keys=10",
    "versionId=v%2B1%3D%3D&x=~tilde",
    "uploadId=abc&partNumber=3",
    "marker=a%2Bb%3Dc%26d",
]


def _url(path: str, query: str = "") -> str:
    split = urlsplit(ENDPOINT)
    return urlunsplit((split.scheme, split.netloc, split.path + path, query, ""))


def _key_path(bucket: str, key: str) -> str:
    return f"/{bucket}/{quote(key, safe='/~')}"


def _headers(request: Any) -> dict[str, str]:
    """The headers as the server sees them: lowercase names, latin-1 text, Host included."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        headers[name.lower()] = text
    headers.setdefault("host", urlsplit(request.url).netloc)
    return headers


def _parse(
    request: Any, headers: dict[str, str] | None = None, url: str | None = None
) -> sigv4.AuthRequest | None:
    split = urlsplit(url or request.url)
    return sigv4.parse(
        request.method,
        split.path.encode(),
        split.query.encode(),
        _headers(request) if headers is None else headers,
    )


def _v4(
    method: str,
    path: str,
    query: str = "",
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    region: str = "us-east-1",
    creds: Credentials = CREDS,
) -> AWSRequest:
    request = AWSRequest(method=method, url=_url(path, query), headers=headers or {}, data=body)
    S3SigV4Auth(creds, "s3", region).add_auth(request)
    return request


def _v4_presigned(
    method: str, path: str, query: str = "", *, expires: int = 60, region: str = "us-east-1"
) -> AWSRequest:
    request = AWSRequest(method=method, url=_url(path, query))
    S3SigV4QueryAuth(CREDS, "s3", region, expires=expires).add_auth(request)
    return request


def _now() -> datetime:
    return datetime.now(UTC)


def _fails(parsed: sigv4.AuthRequest | None, code: str, now: datetime | None = None) -> S3Error:
    assert parsed is not None
    with pytest.raises(S3Error) as caught:
        parsed.verify(SECRET, now or _now())
    assert caught.value.code == code
    return caught.value


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "HEAD"])
def test_header_signature_verifies(method: str, query: str) -> None:
    request = _v4(method, _key_path("bucket", ODD_KEY), query, body=b"data")
    parsed = _parse(request)
    assert isinstance(parsed, sigv4.SigV4Request)
    assert parsed.access_key == ACCESS_KEY
    assert parsed.payload_sha256 == hashlib.sha256(b"data").hexdigest()
    parsed.verify(SECRET, _now())


@pytest.mark.parametrize("query", QUERIES)
def test_presigned_signature_verifies(query: str) -> None:
    request = _v4_presigned("GET", _key_path("bucket", ODD_KEY), query)
    parsed = _parse(request, headers={"host": "127.0.0.1:8780"})
    assert isinstance(parsed, sigv4.SigV4Request)
    assert parsed.presigned
    assert parsed.payload_sha256 == sigv4.UNSIGNED_PAYLOAD
    parsed.verify(SECRET, _now())


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-3", "RegionOne", "stackling"])
def test_any_region_the_client_picked_is_accepted(region: str) -> None:
    _parse(_v4("GET", "/bucket", region=region)).verify(SECRET, _now())
    presigned = _v4_presigned("GET", "/bucket/k", region=region)
    _parse(presigned, headers={"host": "127.0.0.1:8780"}).verify(SECRET, _now())


def test_metadata_headers_with_whitespace_and_utf8_verify() -> None:
    request = _v4(
        "PUT",
        "/bucket/key",
        headers={
            "x-amz-meta-note": "  two   spaces\tand tab  ",
            # botocore signs the UTF-8 of this str but sends it as latin-1.
            "x-amz-meta-name": "ünïcødé",
            # A client that put UTF-8 bytes on the wire (here as their latin-1 reading).
            "x-amz-meta-raw": "ünï".encode().decode("latin-1"),
            "Content-Type": "text/plain",
        },
        body=b"x",
    )
    _parse(request).verify(SECRET, _now())


def test_no_credentials_is_anonymous() -> None:
    assert sigv4.parse("GET", b"/s3/bucket/key", b"list-type=2", {"host": "h"}) is None


# Each alteration takes (path, query, headers) and changes one thing the signature covers.
Tamper = Callable[[str, str, dict[str, str]], tuple[str, str, dict[str, str]]]
TAMPERS: dict[str, Tamper] = {
    "path": lambda p, q, h: (p.replace("bucket", "bucket2"), q, h),
    "path encoding": lambda p, q, h: (p.replace("%20", "+"), q, h),
    "path without mount": lambda p, q, h: (p.removeprefix("/s3"), q, h),
    "query value": lambda p, q, h: (p, q.replace("prefix=a", "prefix=b"), h),
    "added query": lambda p, q, h: (p, q + "&acl", h),
    "signed header": lambda p, q, h: (p, q, {**h, "x-amz-meta-note": "changed"}),
    "host": lambda p, q, h: (p, q, {**h, "host": "127.0.0.1:9999"}),
}


@pytest.mark.parametrize("tamper", TAMPERS.values(), ids=TAMPERS.keys())
def test_altered_header_signed_request_does_not_verify(tamper: Tamper) -> None:
    path = _key_path("bucket", "a b.txt")
    query = "list-type=2&prefix=a%20b"
    request = _v4("GET", path, query, headers={"x-amz-meta-note": "v"})
    headers = _headers(request)
    path, query, headers = tamper("/s3" + path, query, headers)
    parsed = sigv4.parse("GET", path.encode(), query.encode(), headers)
    _fails(parsed, "SignatureDoesNotMatch")


# A presigned URL signs only the host header.
PRESIGNED_TAMPERS = {name: t for name, t in TAMPERS.items() if name != "signed header"}


@pytest.mark.parametrize("tamper", PRESIGNED_TAMPERS.values(), ids=PRESIGNED_TAMPERS.keys())
def test_altered_presigned_request_does_not_verify(tamper: Tamper) -> None:
    path = _key_path("bucket", "a b.txt")
    request = _v4_presigned("GET", path, "list-type=2&prefix=a%20b")
    split = urlsplit(request.url)
    headers = {"host": "127.0.0.1:8780"}
    path, query, headers = tamper(split.path, split.query, headers)
    parsed = sigv4.parse("GET", path.encode(), query.encode(), headers)
    _fails(parsed, "SignatureDoesNotMatch")


def test_wrong_secret_and_wrong_method_do_not_verify() -> None:
    request = _v4("GET", "/bucket/key")
    parsed = _parse(request)
    assert parsed is not None
    with pytest.raises(S3Error) as caught:
        parsed.verify(SECRET + "x", _now())
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.status == 403
    assert "AWS4-HMAC-SHA256" in caught.value.extra["StringToSign"]
    request.method = "DELETE"
    _fails(_parse(request), "SignatureDoesNotMatch")


def test_body_digest_header_is_covered() -> None:
    request = _v4("PUT", "/bucket/key", body=b"one")
    headers = _headers(request)
    headers["x-amz-content-sha256"] = hashlib.sha256(b"two").hexdigest()
    _fails(_parse(request, headers), "SignatureDoesNotMatch")


def test_skewed_request_time() -> None:
    parsed = _parse(_v4("GET", "/bucket"))
    assert parsed is not None
    parsed.verify(SECRET, _now() + timedelta(minutes=14))
    parsed.verify(SECRET, _now() - timedelta(minutes=14))
    _fails(parsed, "RequestTimeTooSkewed", _now() + timedelta(minutes=16))
    err = _fails(parsed, "RequestTimeTooSkewed", _now() - timedelta(minutes=16))
    assert err.status == 403


def test_expired_presigned_url() -> None:
    parsed = _parse(_v4_presigned("GET", "/bucket/key", expires=60), headers={"host": "h"})
    assert parsed is not None
    err = _fails(parsed, "AccessDenied", _now() + timedelta(seconds=120))
    assert err.message == "Request has expired"
    assert err.status == 403
    # A presigned URL is not skew-checked: it is valid for its whole lifetime...
    long_lived = _v4_presigned("GET", "/bucket/key", expires=7 * 86400)
    _parse(long_lived).verify(SECRET, _now() + timedelta(days=6))
    # ...but one dated well in the future is not valid yet.
    err = _fails(_parse(long_lived), "AccessDenied", _now() - timedelta(hours=1))
    assert err.message == "Request is not valid yet"


@pytest.mark.parametrize("expires", ["604801", "-1", "soon"])
def test_presigned_expiry_out_of_bounds(expires: str) -> None:
    request = _v4_presigned("GET", "/bucket/key")
    url = request.url.replace("X-Amz-Expires=60", f"X-Amz-Expires={expires}")
    with pytest.raises(S3Error) as caught:
        _parse(request, url=url)
    assert caught.value.code == "AuthorizationQueryParametersError"
    assert caught.value.status == 400


def _auth_header(**fields: str) -> str:
    return "AWS4-HMAC-SHA256 " + ", ".join(f"{k}={v}" for k, v in fields.items())


GOOD_CREDENTIAL = f"{ACCESS_KEY}/20240101/us-east-1/s3/aws4_request"
GOOD_SIGNATURE = "0" * 64
MALFORMED = {
    "no fields": ("AWS4-HMAC-SHA256 ", "AuthorizationHeaderMalformed"),
    "no signature": (
        _auth_header(Credential=GOOD_CREDENTIAL, SignedHeaders="host"),
        "AuthorizationHeaderMalformed",
    ),
    "short credential": (
        _auth_header(
            Credential=f"{ACCESS_KEY}/20240101/us-east-1",
            SignedHeaders="host",
            Signature=GOOD_SIGNATURE,
        ),
        "AuthorizationHeaderMalformed",
    ),
    "other service": (
        _auth_header(
            Credential=f"{ACCESS_KEY}/20240101/us-east-1/ec2/aws4_request",
            SignedHeaders="host",
            Signature=GOOD_SIGNATURE,
        ),
        "AuthorizationHeaderMalformed",
    ),
    "credential date differs": (
        _auth_header(
            Credential=f"{ACCESS_KEY}/20231231/us-east-1/s3/aws4_request",
            SignedHeaders="host",
            Signature=GOOD_SIGNATURE,
        ),
        "AuthorizationHeaderMalformed",
    ),
    "host not signed": (
        _auth_header(
            Credential=GOOD_CREDENTIAL, SignedHeaders="x-amz-date", Signature=GOOD_SIGNATURE
        ),
        "AuthorizationHeaderMalformed",
    ),
    "signature not hex": (
        _auth_header(Credential=GOOD_CREDENTIAL, SignedHeaders="host", Signature="zz"),
        "AuthorizationHeaderMalformed",
    ),
    "garbage field": (
        "AWS4-HMAC-SHA256 Credential" + "x" * 10,
        "AuthorizationHeaderMalformed",
    ),
    "sigv2 without colon": ("AWS justakey", "InvalidArgument"),
    "sigv2 without signature": ("AWS key:", "InvalidArgument"),
    "unknown scheme": ("Bearer abc", "InvalidArgument"),
}


@pytest.mark.parametrize(("header", "code"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_authorization_header(header: str, code: str) -> None:
    headers = {
        "host": "h",
        "authorization": header,
        "x-amz-date": "20240101T000000Z",
        "date": "Mon, 01 Jan 2024 00:00:00 GMT",
        "x-amz-content-sha256": sigv4.UNSIGNED_PAYLOAD,
    }
    with pytest.raises(S3Error) as caught:
        sigv4.parse("GET", b"/s3/b", b"", headers)
    assert caught.value.code == code
    assert caught.value.status == 400


def test_missing_or_bad_date_and_payload_headers() -> None:
    request = _v4("GET", "/bucket")
    for drop, code in (
        ("x-amz-date", "AccessDenied"),
        ("x-amz-content-sha256", "InvalidRequest"),
    ):
        headers = _headers(request)
        del headers[drop]
        with pytest.raises(S3Error) as caught:
            _parse(request, headers)
        assert caught.value.code == code
    headers = _headers(request)
    headers["x-amz-content-sha256"] = "not-a-digest"
    with pytest.raises(S3Error) as caught:
        _parse(request, headers)
    assert caught.value.code == "InvalidArgument"


def test_unsigned_amz_headers_are_refused() -> None:
    request = _v4("PUT", "/bucket/key")
    headers = {**_headers(request), "x-amz-acl": "public-read"}
    with pytest.raises(S3Error) as caught:
        _parse(request, headers)
    assert caught.value.code == "AccessDenied"
    assert caught.value.extra["HeadersNotSigned"] == "x-amz-acl"
    presigned = _v4_presigned("PUT", "/bucket/key")
    with pytest.raises(S3Error):
        _parse(presigned, {"host": "h", "x-amz-acl": "public-read"})


def test_only_one_auth_mechanism() -> None:
    presigned = _v4_presigned("GET", "/bucket/key")
    signed = _v4("GET", "/bucket/key")
    with pytest.raises(S3Error) as caught:
        _parse(presigned, headers=_headers(signed))
    assert caught.value.code == "InvalidArgument"


@pytest.mark.parametrize(
    "drop", ["X-Amz-Algorithm", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders"]
)
def test_presigned_missing_parameter(drop: str) -> None:
    request = _v4_presigned("GET", "/bucket/key")
    split = urlsplit(request.url)
    query = "&".join(p for p in split.query.split("&") if not p.startswith(drop + "="))
    with pytest.raises(S3Error) as caught:
        sigv4.parse("GET", split.path.encode(), query.encode(), {"host": "h"})
    assert caught.value.code == "AuthorizationQueryParametersError"


# --- Signature Version 2 ---------------------------------------------------------------

V2_QUERIES = [
    "",
    "acl",
    "uploadId=abc&partNumber=2",
    "versionId=v%2B1&response-content-type=text%2Fplain&prefix=ignored",
    "uploads",
    "delete",
]


def _v2(method: str, path: str, query: str = "", *, strip_mount: bool = True) -> AWSRequest:
    request = AWSRequest(
        method=method,
        url=_url(path, query),
        headers={"Content-Type": "text/plain", "x-amz-meta-a": " b "},
    )
    # botocore's client signs "/bucket/key" (its auth_path) for bucket operations, and the
    # URL path (mount included) otherwise; both must verify.
    request.auth_path = path if strip_mount else None
    HmacV1Auth(CREDS).add_auth(request)
    return request


@pytest.mark.parametrize("strip_mount", [True, False])
@pytest.mark.parametrize("query", V2_QUERIES)
def test_sigv2_header_verifies(query: str, strip_mount: bool) -> None:
    request = _v2("PUT", _key_path("bucket", ODD_KEY), query, strip_mount=strip_mount)
    parsed = _parse(request)
    assert isinstance(parsed, sigv4.SigV2Request)
    assert parsed.access_key == ACCESS_KEY
    assert parsed.payload_sha256 is None
    parsed.verify(SECRET, _now())


@pytest.mark.parametrize("query", V2_QUERIES)
def test_sigv2_presigned_verifies(query: str) -> None:
    request = AWSRequest(method="GET", url=_url(_key_path("bucket", ODD_KEY), query))
    request.auth_path = _key_path("bucket", ODD_KEY)
    HmacV1QueryAuth(CREDS, expires=60).add_auth(request)
    parsed = _parse(request, headers={"host": "h"})
    assert isinstance(parsed, sigv4.SigV2Request)
    parsed.verify(SECRET, _now())
    err = _fails(parsed, "AccessDenied", _now() + timedelta(seconds=120))
    assert err.message == "Request has expired"


def test_sigv2_covers_subresources_headers_and_secret() -> None:
    request = _v2("GET", "/bucket/key", "versionId=one&prefix=p")
    headers = _headers(request)
    path = urlsplit(request.url).path.encode()
    # A parameter outside the subresource list is not signed in SigV2 (as at AWS).
    sigv4.parse("GET", path, b"versionId=one&prefix=q", headers).verify(SECRET, _now())
    _fails(sigv4.parse("GET", path, b"versionId=two&prefix=p", headers), "SignatureDoesNotMatch")
    _fails(sigv4.parse("GET", path + b"x", b"versionId=one", headers), "SignatureDoesNotMatch")
    for name in ("content-type", "x-amz-meta-a", "date"):
        changed = {**headers, name: headers[name] + "x"}
        parsed = sigv4.parse("GET", path, b"versionId=one", changed)
        if name == "date":
            with pytest.raises(S3Error):  # no longer a date at all
                assert parsed is not None
                parsed.verify(SECRET, _now())
        else:
            _fails(parsed, "SignatureDoesNotMatch")
    parsed = _parse(request)
    assert parsed is not None
    with pytest.raises(S3Error) as caught:
        parsed.verify("other", _now())
    assert caught.value.code == "SignatureDoesNotMatch"


def test_sigv2_skew_and_missing_date() -> None:
    request = _v2("GET", "/bucket")
    parsed = _parse(request)
    _fails(parsed, "RequestTimeTooSkewed", _now() + timedelta(minutes=20))
    headers = _headers(request)
    del headers["date"]
    with pytest.raises(S3Error) as caught:
        _parse(request, headers)
    assert caught.value.code == "AccessDenied"


def test_sigv2_presigned_missing_parameter() -> None:
    with pytest.raises(S3Error) as caught:
        sigv4.parse("GET", b"/s3/b/k", b"AWSAccessKeyId=a&Signature=x", {"host": "h"})
    assert caught.value.code == "AccessDenied"


# --- a real boto3 client, endpoint_url with a path --------------------------------------


class _Sent(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def _client(signature_version: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        region_name="RegionOne",
        config=Config(
            signature_version=signature_version,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )

    def capture(request: Any, **_: Any) -> None:
        raise _Sent(request)

    client.meta.events.register("before-send", capture)
    return client


CALLS: dict[str, Callable[[Any], Any]] = {
    "list_buckets": lambda c: c.list_buckets(),
    "create_bucket": lambda c: c.create_bucket(Bucket="bk"),
    "put_object": lambda c: c.put_object(Bucket="bk", Key=ODD_KEY, Body=b"hello"),
    "get_object": lambda c: c.get_object(
        Bucket="bk", Key=ODD_KEY, VersionId="v+1=", ResponseContentType="text/plain"
    ),
    "list_objects_v2": lambda c: c.list_objects_v2(Bucket="bk", Prefix="a b/ü~", Delimiter="/"),
    "create_multipart_upload": lambda c: c.create_multipart_upload(Bucket="bk", Key="k k"),
    "upload_part": lambda c: c.upload_part(
        Bucket="bk", Key="k", UploadId="u~1", PartNumber=2, Body=b"p"
    ),
    "delete_objects": lambda c: c.delete_objects(
        Bucket="bk", Delete={"Objects": [{"Key": "a"}, {"Key": "b c"}]}
    ),
    "put_bucket_versioning": lambda c: c.put_bucket_versioning(
        Bucket="bk", VersioningConfiguration={"Status": "Enabled"}
    ),
}


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_boto3_client_requests_verify(signature_version: str, call: Callable[[Any], Any]) -> None:
    with pytest.raises(_Sent) as sent:
        call(_client(signature_version))
    request = sent.value.request
    assert urlsplit(request.url).path.startswith("/s3")
    parsed = _parse(request)
    assert parsed is not None
    assert parsed.access_key == ACCESS_KEY
    parsed.verify(SECRET, _now())
    if isinstance(parsed, sigv4.SigV4Request) and sigv4.PayloadCheck.applies(parsed.payload_sha256):
        check = sigv4.PayloadCheck(parsed.payload_sha256)
        body = request.body
        check.update(body.getvalue() if hasattr(body, "getvalue") else body or b"")
        check.finish()


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
@pytest.mark.parametrize("method", ["get_object", "put_object", "delete_object"])
def test_boto3_presigned_urls_verify(signature_version: str, method: str) -> None:
    url = _client(signature_version).generate_presigned_url(
        method, Params={"Bucket": "bk", "Key": ODD_KEY}, ExpiresIn=300
    )
    split = urlsplit(url)
    http_method = {"get_object": "GET", "put_object": "PUT", "delete_object": "DELETE"}[method]
    parsed = sigv4.parse(
        http_method, split.path.encode(), split.query.encode(), {"host": split.netloc}
    )
    assert parsed is not None
    parsed.verify(SECRET, _now())
    _fails(parsed, "AccessDenied", _now() + timedelta(seconds=600))


# --- payload digest and aws-chunked bodies ---------------------------------------------


async def _stream(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in stream])


async def test_payload_check() -> None:
    body = [b"hello ", b"world"]
    good = sigv4.PayloadCheck(hashlib.sha256(b"hello world").hexdigest())
    assert await _collect(good.wrap(_stream(body))) == b"hello world"
    bad = sigv4.PayloadCheck(hashlib.sha256(b"hello").hexdigest())
    with pytest.raises(S3Error) as caught:
        await _collect(bad.wrap(_stream(body)))
    assert caught.value.code == "XAmzContentSHA256Mismatch"
    assert caught.value.status == 400
    assert not sigv4.PayloadCheck.applies(sigv4.UNSIGNED_PAYLOAD)
    assert not sigv4.PayloadCheck.applies(sigv4.STREAMING_PAYLOAD)
    assert not sigv4.PayloadCheck.applies(None)


def _hmac_sha256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _key(secret: str, date: str, region: str) -> bytes:
    # Computed here from the spec, not with the module under test.
    key = _hmac_sha256(f"AWS4{secret}".encode(), date)
    for part in (region, "s3", "aws4_request"):
        key = _hmac_sha256(key, part)
    return key


def _chunked(
    pieces: list[bytes], seed: str, key: bytes, scope: str, amz_date: str
) -> Iterator[bytes]:
    previous = seed
    for data in [*pieces, b""]:
        to_sign = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                hashlib.sha256(b"").hexdigest(),
                hashlib.sha256(data).hexdigest(),
            )
        )
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        yield f"{len(data):x};chunk-signature={previous}\r\n".encode() + data + b"\r\n"


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def test_aws_documented_chunked_upload() -> None:
    """AWS's worked example for STREAMING-AWS4-HMAC-SHA256-PAYLOAD, signatures and all."""
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": sigv4.STREAMING_PAYLOAD,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
        "s3/aws4_request,SignedHeaders=content-encoding;content-length;host;"
        "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"
        "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    }
    parsed = sigv4.parse("PUT", b"/examplebucket/chunkObject.txt", b"", headers, mount="")
    assert isinstance(parsed, sigv4.SigV4Request)
    assert parsed.streaming
    parsed.verify(secret, datetime(2013, 5, 24, 0, 1, tzinfo=UTC))
    body = (
        b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        b"\r\n" + b"a" * 65536 + b"\r\n"
        b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        b"\r\n" + b"a" * 1024 + b"\r\n"
        b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        b"\r\n\r\n"
    )
    assert len(body) == 66824
    decoded = await _collect(parsed.chunk_decoder(secret, _stream(_split(body, 4096))))
    assert decoded == b"a" * 66560


async def test_chunked_upload_signed_by_botocore_seed() -> None:
    request = _v4(
        "PUT",
        "/bucket/key",
        headers={
            "X-Amz-Content-SHA256": sigv4.STREAMING_PAYLOAD,
            "Content-Encoding": "aws-chunked",
            "X-Amz-Decoded-Content-Length": "20000",
        },
    )
    parsed = _parse(request)
    assert isinstance(parsed, sigv4.SigV4Request)
    parsed.verify(SECRET, _now())
    key = _key(SECRET, parsed.amz_date[:8], "us-east-1")
    scope = f"{parsed.amz_date[:8]}/us-east-1/s3/aws4_request"
    pieces = [bytes(range(256)) * 40, b"\r\n;chunk-signature=" * 100, b"z" * 7]
    body = b"".join(_chunked(pieces, parsed.signature, key, scope, parsed.amz_date))
    for size in (1, 7, 1000, len(body)):
        decoded = await _collect(parsed.chunk_decoder(SECRET, _stream(_split(body, size))))
        assert decoded == b"".join(pieces)


async def test_chunked_upload_tampering() -> None:
    seed, date, amz_date = "f" * 64, "20240101", "20240101T000000Z"
    scope = f"{date}/us-east-1/s3/aws4_request"
    key = _key(SECRET, date, "us-east-1")
    chunks = list(_chunked([b"first", b"second"], seed, key, scope, amz_date))

    async def decode(body: bytes) -> bytes:
        return await _collect(sigv4.decode_aws_chunked(_stream([body]), seed, key, scope, amz_date))

    assert await decode(b"".join(chunks)) == b"firstsecond"
    cases = {
        "altered data": (b"".join(chunks).replace(b"second", b"secont"), "SignatureDoesNotMatch"),
        "reordered": (chunks[1] + chunks[0] + chunks[2], "SignatureDoesNotMatch"),
        "chunk dropped": (chunks[0] + chunks[2], "SignatureDoesNotMatch"),
        "truncated": (b"".join(chunks)[:-10], "IncompleteBody"),
        "no final chunk": (chunks[0] + chunks[1], "IncompleteBody"),
        "trailing bytes": (b"".join(chunks) + b"junk", "InvalidRequest"),
        "bad size": (b"zz;chunk-signature=" + b"0" * 64 + b"\r\n", "InvalidRequest"),
        "no signature": (b"5\r\nfirst\r\n", "InvalidRequest"),
    }
    for name, (body, code) in cases.items():
        with pytest.raises(S3Error) as caught:
            await decode(body)
        assert caught.value.code == code, name
    other_key = _key(SECRET + "x", date, "us-east-1")
    with pytest.raises(S3Error):
        await _collect(sigv4.decode_aws_chunked(_stream(chunks), seed, other_key, scope, amz_date))


async def test_unsigned_trailer_chunked_body() -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    for size in (1, 3, len(body)):
        decoded = await _collect(sigv4.decode_aws_chunked_unsigned(_stream(_split(body, size))))
        assert decoded == b"hello world"
    with pytest.raises(S3Error) as caught:
        await _collect(sigv4.decode_aws_chunked_unsigned(_stream([body[:12]])))
    assert caught.value.code == "IncompleteBody"
