"""S3 errors: the codes, statuses and messages S3 clients expect, rendered as S3's XML."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

# code -> (HTTP status, default message). Messages are AWS's own wording where clients or
# people reading logs may recognise them.
CODES: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied"),
    "InvalidAccessKeyId": (
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    "SignatureDoesNotMatch": (
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    "RequestTimeTooSkewed": (
        403,
        "The difference between the request time and the current time is too large.",
    ),
    "ExpiredToken": (400, "The provided token has expired."),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (
        400,
        "Error parsing the X-Amz-Credential parameter.",
    ),
    "MissingSecurityHeader": (400, "Your request is missing a required header."),
    "XAmzContentSHA256Mismatch": (
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
    "IncompleteBody": (
        400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    ),
    "NoSuchBucket": (404, "The specified bucket does not exist"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchUpload": (
        404,
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed.",
    ),
    "BucketAlreadyExists": (
        409,
        "The requested bucket name is not available. The bucket namespace is shared by all "
        "users of the system. Please select a different name and try again.",
    ),
    "BucketAlreadyOwnedByYou": (
        409,
        "Your previous request to create the named bucket succeeded and you already own it.",
    ),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidPart": (
        400,
        "One or more of the specified parts could not be found. The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
    ),
    "InvalidPartOrder": (
        400,
        "The list of parts was not in ascending order. Parts must be ordered by part number.",
    ),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed size"),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed size"),
    "MalformedXML": (
        400,
        "The XML you provided was not well-formed or did not validate against our published schema",
    ),
    "InvalidDigest": (400, "The Content-MD5 you specified is not valid."),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "NotImplemented": (
        501,
        "A header you provided implies functionality that is not implemented",
    ),
    "PreconditionFailed": (
        412,
        "At least one of the pre-conditions you specified did not hold",
    ),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "InvalidRequest": (400, "Invalid Request"),
    "KeyTooLongError": (400, "Your key is too long"),
    "MetadataTooLarge": (
        400,
        "Your metadata headers exceed the maximum allowed metadata size.",
    ),
    "InternalError": (500, "We encountered an internal error. Please try again."),
}

# Characters XML 1.0 cannot carry at all, even escaped; a key may well contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class S3Error(Exception):
    """An S3 error response: a code from CODES, its status, a message and extra fields."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        resource: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: str,
    ) -> None:
        status, default = CODES[code]
        super().__init__(f"{code}: {message or default}")
        self.code = code
        self.status = status
        self.message = message or default
        self.resource = resource
        # Response headers some errors need (Allow for 405, Content-Range for 416).
        self.headers = dict(headers or {})
        # Extra elements AWS adds after <Message> (BucketName, Key, HostId...).
        self.extra = dict(extra)


def expired(expires: str, server_time: str) -> S3Error:
    """The error S3 answers for a presigned URL past its expiry."""
    return S3Error("AccessDenied", "Request has expired", Expires=expires, ServerTime=server_time)


def xml_text(value: str) -> str:
    """Escape text for an XML element, dropping characters XML 1.0 cannot represent."""
    return escape(_NOT_XML.sub("\ufffd", value))


def render(err: S3Error, request_id: str) -> bytes:
    """The XML body of an S3 error response."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>',
        f"<Code>{xml_text(err.code)}</Code>",
        f"<Message>{xml_text(err.message)}</Message>",
    ]
    for name, value in err.extra.items():
        parts.append(f"<{name}>{xml_text(str(value))}</{name}>")
    if err.resource is not None:
        parts.append(f"<Resource>{xml_text(err.resource)}</Resource>")
    parts.append(f"<RequestId>{xml_text(request_id)}</RequestId></Error>")
    return "".join(parts).encode("utf-8")
