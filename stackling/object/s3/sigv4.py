"""S3 request authentication: AWS Signature Version 4 and 2, in headers and presigned URLs.

`parse` reads what the client claims (who, when, how it signed) without any secret; the
caller looks the access key up and calls `verify(secret, now)` on the result. Nothing here
knows about HTTP frameworks: the path is the raw path as sent (ASGI `scope["raw_path"]`),
the query string the raw bytes, the headers a mapping with lowercase names and values
decoded as latin-1 (as Starlette does; comma-joined when repeated).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote_from_bytes, unquote_to_bytes

from stackling.object.s3.errors import S3Error, expired

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
# x-amz-content-sha256 values that are not a digest of the body. The signed-trailer variant
# is accepted for the request signature; its decoder is the lead's to wire if ever needed.
PAYLOAD_MARKERS = frozenset(
    {
        UNSIGNED_PAYLOAD,
        STREAMING_PAYLOAD,
        STREAMING_UNSIGNED_TRAILER,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    }
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = timedelta(minutes=15)
MAX_EXPIRES = 604800  # seven days, the longest a SigV4 presigned URL may live
AMZ_DATE = "%Y%m%dT%H%M%SZ"

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# Query parameters that are part of a SigV2 canonical resource (AWS's list, plus the ones
# botocore's signer adds); every other parameter is left out of what was signed.
SIGV2_SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


def _wire(text: str) -> str:
    """A header value back to the client's bytes: headers arrive decoded as latin-1.

    Signing is over the bytes sent, so UTF-8 metadata must hash as the UTF-8 it was.
    """
    try:
        return text.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text  # already decoded as UTF-8 by the caller


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(_bytes(text)).hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, _bytes(msg), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    """The SigV4 signing key for one day, region and service."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


Pairs = list[tuple[bytes, bytes | None]]


def _query_pairs(query_string: bytes) -> Pairs:
    """The raw (still percent-encoded) pairs of a query string; None for a name without "="."""
    pairs: Pairs = []
    for piece in query_string.split(b"&"):
        if piece:
            name, sep, value = piece.partition(b"=")
            pairs.append((name, value if sep else None))
    return pairs


def _decoded(raw: bytes | None) -> str:
    return unquote_to_bytes(raw or b"").decode("utf-8", "surrogateescape")


def _canonical_query(pairs: Pairs) -> str:
    encoded = []
    for name, value in pairs:
        if _decoded(name) == "X-Amz-Signature":
            continue
        # Decode then re-encode, so whatever escaping the client used on the wire, the
        # canonical form is RFC 3986 with only unreserved characters left bare.
        encoded.append(
            (
                quote_from_bytes(unquote_to_bytes(name), safe="-_.~"),
                quote_from_bytes(unquote_to_bytes(value or b""), safe="-_.~"),
            )
        )
    return "&".join(f"{n}={v}" for n, v in sorted(encoded))


def _path_text(raw_path: bytes | str) -> str:
    if isinstance(raw_path, bytes):
        return raw_path.decode("utf-8", "surrogateescape")
    return raw_path


def _path_candidates(path: str, mount: str, *, sigv2: bool = False) -> list[str]:
    """The paths a client may have signed: as sent, and without the service's mount point.

    botocore signs SigV4 over the full URL path (with the mount), but SigV2 over its
    "auth path": "/bucket/key", or "/bucket/" for a bucket, without the mount, except for
    ListBuckets, where it signs the URL path. Other clients may strip the mount for both.
    A mismatch costs one HMAC per candidate.
    """
    candidates = [path]
    if mount and (path == mount or path.startswith(mount + "/")):
        candidates.append(path[len(mount) :] or "/")
    if sigv2 and candidates[-1].count("/") == 1 and len(candidates[-1]) > 1:
        candidates.append(candidates[-1] + "/")
    return candidates


def _parse_amz_date(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class SigV4Request:
    """A request signed with AWS Signature Version 4 (Authorization header or presigned)."""

    access_key: str
    date: str  # YYYYMMDD, from the credential scope
    region: str
    service: str
    amz_date: str  # the request time, YYYYMMDDTHHMMSSZ
    signed_headers: tuple[str, ...]
    signature: str
    presigned: bool
    expires: int | None  # seconds, presigned only
    # The declared x-amz-content-sha256 (a hex digest or one of PAYLOAD_MARKERS).
    payload_sha256: str
    canonical_requests: tuple[str, ...] = field(repr=False)

    @property
    def scope(self) -> str:
        """The credential scope: date/region/service/aws4_request."""
        return f"{self.date}/{self.region}/{self.service}/aws4_request"

    @property
    def streaming(self) -> bool:
        """Whether the body is aws-chunked with per-chunk signatures (decode_aws_chunked)."""
        return self.payload_sha256 == STREAMING_PAYLOAD

    def chunk_decoder(self, secret: str, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The body of a streaming (aws-chunked) upload, each chunk verified."""
        return decode_aws_chunked(
            chunks, self.signature, self.signing_key(secret), self.scope, self.amz_date
        )

    def signing_key(self, secret: str) -> bytes:
        """The key this request was signed with, given the access key's secret."""
        return signing_key(secret, self.date, self.region, self.service)

    def string_to_sign(self, canonical_request: str) -> str:
        """The SigV4 string to sign for one canonical request."""
        return "\n".join((ALGORITHM, self.amz_date, self.scope, _sha256_hex(canonical_request)))

    def verify(self, secret: str, now: datetime) -> None:
        """Check the request time and signature; raise the S3Error AWS would answer."""
        when = _parse_amz_date(self.amz_date)
        assert when is not None  # parse() refused anything else
        if self.presigned:
            if now < when - MAX_SKEW:
                raise S3Error("AccessDenied", "Request is not valid yet")
            if now > when + timedelta(seconds=self.expires or 0):
                raise expired(
                    when.strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")
                )
        elif abs(now - when) > MAX_SKEW:
            raise S3Error(
                "RequestTimeTooSkewed",
                RequestTime=self.amz_date,
                ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                MaxAllowedSkewMilliseconds="900000",
            )
        key = self.signing_key(secret)
        string_to_sign = ""
        for canonical in self.canonical_requests:
            string_to_sign = self.string_to_sign(canonical)
            expected = hmac.new(key, _bytes(string_to_sign), hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, self.signature):
                return
        raise S3Error(
            "SignatureDoesNotMatch",
            AWSAccessKeyId=self.access_key,
            StringToSign=string_to_sign,
            SignatureProvided=self.signature,
            CanonicalRequest=self.canonical_requests[0],
        )


@dataclass(frozen=True)
class SigV2Request:
    """A request signed with AWS Signature Version 2 (Authorization header or presigned)."""

    access_key: str
    signature: str  # base64, as sent
    presigned: bool
    when: datetime | None  # the Date / x-amz-date of a header-signed request
    expires: int | None  # epoch seconds, presigned only
    strings_to_sign: tuple[str, ...] = field(repr=False)
    # SigV2 carries no payload digest; None tells the caller there is nothing to check.
    payload_sha256: str | None = None

    def verify(self, secret: str, now: datetime) -> None:
        """Check the request time and signature; raise the S3Error AWS would answer."""
        if self.presigned:
            if self.expires is not None and now.timestamp() > self.expires:
                raise expired(str(self.expires), now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif self.when is not None and abs(now - self.when) > MAX_SKEW:
            raise S3Error(
                "RequestTimeTooSkewed",
                RequestTime=self.when.strftime("%a, %d %b %Y %H:%M:%S GMT"),
                ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                MaxAllowedSkewMilliseconds="900000",
            )
        for string_to_sign in self.strings_to_sign:
            digest = hmac.new(secret.encode("utf-8"), _bytes(string_to_sign), hashlib.sha1)
            expected = base64.b64encode(digest.digest()).decode("ascii")
            if hmac.compare_digest(expected.encode(), self.signature.encode()):
                return
        raise S3Error(
            "SignatureDoesNotMatch",
            AWSAccessKeyId=self.access_key,
            StringToSign=self.strings_to_sign[0],
            SignatureProvided=self.signature,
        )


AuthRequest = SigV4Request | SigV2Request


def parse(
    method: str,
    raw_path: bytes | str,
    query_string: bytes,
    headers: Mapping[str, str],
    *,
    mount: str = "/s3",
) -> AuthRequest | None:
    """What a request claims about its signature; None when it carries no credentials."""
    pairs = _query_pairs(query_string)
    params = {_decoded(name): _decoded(value) for name, value in pairs}
    authorization = headers.get("authorization")
    query_v4 = "X-Amz-Algorithm" in params or "X-Amz-Credential" in params
    query_v2 = "AWSAccessKeyId" in params or "Signature" in params
    if sum((authorization is not None, query_v4, query_v2)) > 1:
        raise S3Error(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
            ArgumentName="Authorization",
            ArgumentValue=authorization or "",
        )
    path = _path_text(raw_path)
    if authorization is not None:
        if authorization.startswith(ALGORITHM + " "):
            return _v4_header(method, path, pairs, headers, authorization, mount)
        if authorization.startswith("AWS "):
            return _v2_header(method, path, pairs, headers, authorization, mount)
        raise S3Error(
            "InvalidArgument",
            "Unsupported Authorization Type",
            ArgumentName="Authorization",
            ArgumentValue=authorization,
        )
    if query_v4:
        return _v4_query(method, path, pairs, params, headers, mount)
    if query_v2:
        return _v2_query(method, path, pairs, params, headers, mount)
    return None


def _check_signed(headers: Mapping[str, str], signed: tuple[str, ...], *, presigned: bool) -> None:
    """Refuse x-amz-* headers outside the signature, as S3 does: they change the request."""
    # A presigned URL cannot know the payload digest its user will send; S3 lets it by.
    exempt = {"x-amz-content-sha256"} if presigned else set()
    unsigned = sorted(
        name
        for name in headers
        if name.startswith("x-amz-") and name not in signed and name not in exempt
    )
    if unsigned:
        raise S3Error(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(unsigned),
        )


def _v4_scope(credential: str, amz_date: str, error: str, prefix: str) -> tuple[str, ...]:
    """(access key, date, region, service) from a Credential, checked against the request date."""
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0] or parts[4] != "aws4_request":
        raise S3Error(
            error,
            f"{prefix}the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        )
    access_key, date, region, service = parts[:4]
    if service != "s3":
        raise S3Error(
            error, f'{prefix}incorrect service "{service}". This endpoint belongs to "s3".'
        )
    if date != amz_date[:8]:
        raise S3Error(
            error,
            f'{prefix}Invalid credential date "{date}". This date is not the same as '
            f'X-Amz-Date: "{amz_date[:8]}".',
        )
    # Any region is accepted: clients pick one (us-east-1 by default) and sign with it.
    return access_key, date, region, service


def _v4_signed_headers(value: str, signature: str, error: str, prefix: str) -> tuple[str, ...]:
    signed = tuple(value.split(";")) if value else ()
    if "host" not in signed or any(name != name.lower() for name in signed):
        raise S3Error(error, f"{prefix}SignedHeaders must include host, in lowercase.")
    if not _HEX64.fullmatch(signature):
        raise S3Error(error, f"{prefix}the Signature is mal-formed.")
    return signed


def _canonical_requests(
    method: str,
    path: str,
    mount: str,
    pairs: Pairs,
    headers: Mapping[str, str],
    signed: tuple[str, ...],
    payload: str,
) -> tuple[str, ...]:
    """The SigV4 canonical request for each path the client may have signed."""
    query = _canonical_query(pairs)
    # Non-ASCII header values: the spec signs the bytes sent, but botocore signs the UTF-8
    # of its str and sends that str as latin-1. Both readings are tried; they only differ
    # when such a value is present.
    blocks = dict.fromkeys(
        # Trimall: strip the value and collapse inner runs of whitespace to one space.
        "".join(f"{name}:{' '.join(convert(headers.get(name, '')).split())}\n" for name in signed)
        for convert in (_wire, str)
    )
    return tuple(
        # S3 signs the path exactly as sent: no normalising, no second round of encoding.
        f"{method.upper()}\n{p}\n{query}\n{lines}\n{';'.join(signed)}\n{payload}"
        for p in _path_candidates(path, mount)
        for lines in blocks
    )


def _v4_header(
    method: str,
    path: str,
    pairs: Pairs,
    headers: Mapping[str, str],
    authorization: str,
    mount: str,
) -> SigV4Request:
    prefix = "The authorization header is malformed; "
    fields: dict[str, str] = {}
    for item in authorization[len(ALGORITHM) + 1 :].split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise S3Error(
                "AuthorizationHeaderMalformed", f"{prefix}{item.strip()!r} is not name=value."
            )
        fields[name] = value.strip()
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise S3Error(
            "AuthorizationHeaderMalformed",
            f"{prefix}the authorization header requires three components: Credential, "
            "SignedHeaders, and Signature.",
        )
    amz_date = headers.get("x-amz-date") or headers.get("date") or ""
    if _parse_amz_date(amz_date) is None:
        raise S3Error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    access_key, date, region, service = _v4_scope(
        fields["Credential"], amz_date, "AuthorizationHeaderMalformed", prefix
    )
    signed = _v4_signed_headers(
        fields["SignedHeaders"], fields["Signature"], "AuthorizationHeaderMalformed", prefix
    )
    payload = headers.get("x-amz-content-sha256")
    if payload is None:
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    if payload not in PAYLOAD_MARKERS and not _HEX64.fullmatch(payload):
        raise S3Error(
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
            "or a valid sha256 value.",
            ArgumentName="x-amz-content-sha256",
            ArgumentValue=payload,
        )
    _check_signed(headers, signed, presigned=False)
    return SigV4Request(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        amz_date=amz_date,
        signed_headers=signed,
        signature=fields["Signature"],
        presigned=False,
        expires=None,
        payload_sha256=payload,
        canonical_requests=_canonical_requests(
            method, path, mount, pairs, headers, signed, payload
        ),
    )


def _v4_query(
    method: str,
    path: str,
    pairs: Pairs,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    mount: str,
) -> SigV4Request:
    error = "AuthorizationQueryParametersError"
    required = (
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
    )
    if any(name not in params for name in required):
        raise S3Error(
            error,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters.",
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise S3Error(error, f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    amz_date = params["X-Amz-Date"]
    if _parse_amz_date(amz_date) is None:
        raise S3Error(
            error, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    try:
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        raise S3Error(error, "X-Amz-Expires should be a number") from None
    if expires < 0:
        raise S3Error(error, "X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise S3Error(
            error, f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
        )
    prefix = "Error parsing the X-Amz-Credential parameter; "
    access_key, date, region, service = _v4_scope(
        params["X-Amz-Credential"], amz_date, error, prefix
    )
    signed = _v4_signed_headers(params["X-Amz-SignedHeaders"], params["X-Amz-Signature"], error, "")
    # The payload is unknown when a URL is presigned, unless its digest header was signed.
    payload = headers.get("x-amz-content-sha256", UNSIGNED_PAYLOAD)
    if "x-amz-content-sha256" not in signed:
        payload = UNSIGNED_PAYLOAD
    _check_signed(headers, signed, presigned=True)
    return SigV4Request(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        amz_date=amz_date,
        signed_headers=signed,
        signature=params["X-Amz-Signature"],
        presigned=True,
        expires=expires,
        payload_sha256=payload,
        canonical_requests=_canonical_requests(
            method, path, mount, pairs, headers, signed, payload
        ),
    )


def _v2_strings(
    method: str,
    path: str,
    mount: str,
    pairs: Pairs,
    headers: Mapping[str, str],
    date_line: str,
) -> tuple[str, ...]:
    """The SigV2 string to sign for each canonical resource the client may have signed."""
    subresources = []
    for raw_name, raw_value in pairs:
        name = _decoded(raw_name)
        if name in SIGV2_SUBRESOURCES:
            # Values go in decoded, and "?acl" differs from "?acl=": keep what was sent.
            subresources.append((name, None if raw_value is None else _decoded(raw_value)))
    subresources.sort(key=lambda item: item[0])
    query = "&".join(name if value is None else f"{name}={value}" for name, value in subresources)
    resources = [
        f"{p}{'?' + query if query else ''}" for p in _path_candidates(path, mount, sigv2=True)
    ]
    heads = []
    # Non-ASCII header values, read as bytes sent or as botocore signs them (see SigV4).
    for convert in (_wire, str):
        amz = "".join(
            f"{name}:{convert(headers[name]).strip()}\n"
            for name in sorted(headers)
            if name.startswith("x-amz-")
        )
        md5 = convert(headers.get("content-md5", "")).strip()
        content_type = convert(headers.get("content-type", "")).strip()
        heads.append(f"{method.upper()}\n{md5}\n{content_type}\n{date_line}\n{amz}")
    return tuple(head + resource for head in dict.fromkeys(heads) for resource in resources)


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return _parse_amz_date(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _v2_header(
    method: str,
    path: str,
    pairs: Pairs,
    headers: Mapping[str, str],
    authorization: str,
    mount: str,
) -> SigV2Request:
    access_key, sep, signature = authorization[len("AWS ") :].strip().partition(":")
    if not sep or not access_key or not signature:
        raise S3Error(
            "InvalidArgument",
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
            ArgumentName="Authorization",
            ArgumentValue=authorization,
        )
    when = _http_date(headers.get("x-amz-date") or headers.get("date") or "")
    if when is None:
        raise S3Error(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    # With x-amz-date present the Date line is empty: the time is signed among the amz headers.
    date_line = "" if "x-amz-date" in headers else _wire(headers.get("date", "")).strip()
    return SigV2Request(
        access_key=access_key,
        signature=signature,
        presigned=False,
        when=when,
        expires=None,
        strings_to_sign=_v2_strings(method, path, mount, pairs, headers, date_line),
    )


def _v2_query(
    method: str,
    path: str,
    pairs: Pairs,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    mount: str,
) -> SigV2Request:
    missing = S3Error(
        "AccessDenied",
        "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
    )
    if not all(params.get(name) for name in ("AWSAccessKeyId", "Signature", "Expires")):
        raise missing
    try:
        expires = int(params["Expires"])
    except ValueError:
        raise missing from None
    # botocore (like AWS's own docs) moves x-amz-*, Content-Type and Content-MD5 into the
    # URL when presigning: they count as headers, and the URL's value is the one signed.
    signed_headers = dict(headers)
    for name, value in params.items():
        lowered = name.lower()
        if lowered.startswith("x-amz-") or lowered in ("content-type", "content-md5"):
            signed_headers[lowered] = _bytes(value).decode("latin-1")  # as on the wire
    return SigV2Request(
        access_key=params["AWSAccessKeyId"],
        signature=params["Signature"],
        presigned=True,
        when=None,
        expires=expires,
        strings_to_sign=_v2_strings(method, path, mount, pairs, signed_headers, params["Expires"]),
    )


class PayloadCheck:
    """Hashes a body as it streams and checks it against the declared x-amz-content-sha256."""

    def __init__(self, declared: str) -> None:
        self.declared = declared.lower()
        self._hash = hashlib.sha256()

    @staticmethod
    def applies(declared: str | None) -> bool:
        """Whether the declared value is a digest to check (not UNSIGNED-PAYLOAD or the like)."""
        return declared is not None and _HEX64.fullmatch(declared) is not None

    def update(self, data: bytes) -> None:
        """Add the next piece of the body."""
        self._hash.update(data)

    def finish(self) -> None:
        """Raise XAmzContentSHA256Mismatch if the whole body does not match the declaration."""
        computed = self._hash.hexdigest()
        if not hmac.compare_digest(computed, self.declared):
            raise S3Error(
                "XAmzContentSHA256Mismatch",
                ClientComputedContentSHA256=self.declared,
                S3ComputedContentSHA256=computed,
            )

    async def wrap(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Pass the body through, raising at its end when it does not match."""
        async for chunk in chunks:
            self.update(chunk)
            yield chunk
        self.finish()


# One aws-chunked chunk is held in memory while its signature is checked; SDKs use 8 KiB to
# a few MiB, so this only stops a client from making us buffer without bound.
MAX_CHUNK = 16 * 1024 * 1024
_MAX_CHUNK_HEADER = 4096


class _Reader:
    """Reads lines and exact lengths from a stream of byte chunks."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks.__aiter__()
        self._buffer = bytearray()
        self._done = False

    async def _more(self) -> bool:
        if self._done:
            return False
        try:
            self._buffer += await anext(self._chunks)
        except StopAsyncIteration:
            self._done = True
            return False
        return True

    async def line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > _MAX_CHUNK_HEADER:
                raise S3Error("InvalidRequest", "Invalid aws-chunked chunk header")
            if not await self._more():
                raise S3Error("IncompleteBody")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    async def exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._more():
                raise S3Error("IncompleteBody")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def at_end(self) -> bool:
        return not self._buffer and not await self._more()


def _chunk_size(text: bytes) -> int:
    try:
        size = int(text, 16)
    except ValueError:
        raise S3Error("InvalidRequest", "Invalid aws-chunked chunk size") from None
    if not 0 <= size <= MAX_CHUNK:
        raise S3Error("InvalidRequest", "Invalid aws-chunked chunk size")
    return size


async def decode_aws_chunked(
    chunks: AsyncIterator[bytes],
    seed_signature: str,
    signing_key: bytes,
    scope: str,
    amz_date: str,
) -> AsyncIterator[bytes]:
    """The payload of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body, each chunk's signature checked.

    A chunk is yielded only once its signature matched, so nothing unverified reaches storage.
    """
    reader = _Reader(chunks)
    previous = seed_signature
    while True:
        size_text, _, extension = (await reader.line()).partition(b";")
        name, _, signature = extension.partition(b"=")
        if name.strip() != b"chunk-signature":
            raise S3Error("InvalidRequest", "aws-chunked chunk without a chunk-signature")
        size = _chunk_size(size_text)
        data = await reader.exactly(size)
        if await reader.exactly(2) != b"\r\n":
            raise S3Error("InvalidRequest", "Invalid aws-chunked chunk framing")
        string_to_sign = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(data).hexdigest(),
            )
        )
        expected = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.strip()):
            raise S3Error("SignatureDoesNotMatch", StringToSign=string_to_sign)
        previous = expected
        if size == 0:
            break
        yield data
    if not await reader.at_end():
        raise S3Error("InvalidRequest", "Data after the final aws-chunked chunk")


async def decode_aws_chunked_unsigned(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The payload of a STREAMING-UNSIGNED-PAYLOAD-TRAILER body (trailing checksums skipped).

    botocore sends this over HTTPS when it puts a flexible checksum in a trailer.
    """
    reader = _Reader(chunks)
    while True:
        size = _chunk_size((await reader.line()).partition(b";")[0])
        if size == 0:
            break
        data = await reader.exactly(size)
        if await reader.exactly(2) != b"\r\n":
            raise S3Error("InvalidRequest", "Invalid aws-chunked chunk framing")
        yield data
    # Trailer lines (x-amz-checksum-crc32:...) up to an empty line end the body.
    while await reader.line():
        pass
