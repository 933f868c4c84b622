"""OpenAPI 3.0 descriptions of Swift v1 and of S3 as Stackling serves them, for the fuzzer.

Neither API has a document of its own, and both read raw headers, query strings and
bodies, so each operation is described here as Swift's API reference (and the S3 API
reference) lists its parameters. An operation is one shape of request: a path and a
method, with the query subresource that selects it (bulk-delete, multipart-manifest=put,
?uploads, ?uploadId...), so two shapes of one method on one path are two operations.
`document` turns one of them into a document schemathesis loads.

Values that must name something real (segments of a manifest, a copy's source, an
upload's id) come from `ids`, the run's real resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SWIFT = "/object/v1/AUTH_{account}"
CONTAINER = f"{SWIFT}/{{container}}"
OBJECT = f"{CONTAINER}/{{object}}"
S3 = "/s3"
BUCKET = f"{S3}/{{bucket}}"
KEY = f"{BUCKET}/{{key}}"

_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_BOOL_WORDS: dict[str, Any] = {"type": "string", "enum": ["true", "false", "1", "0", "yes"]}
# An HTTP date, as If-Modified-Since and friends carry it.
_DATE: dict[str, Any] = {"type": "string", "example": "Thu, 01 Jan 2026 00:00:00 GMT"}
_BYTES: dict[str, Any] = {"type": "string", "format": "binary"}
_LOOSE: dict[str, Any] = {"type": "string", "maxLength": 64}


@dataclass(frozen=True)
class Operation:
    """One shape of request: its label in findings, path template, method and OpenAPI object."""

    label: str
    path: str
    method: str
    spec: dict[str, Any]


def document(op: Operation) -> dict[str, Any]:
    """An OpenAPI 3.0 document of the one operation."""
    params = [
        {"name": name, "in": "path", "required": True, "schema": dict(_STR, minLength=1)}
        for name in path_names(op.path)
    ]
    spec = dict(op.spec)
    spec["parameters"] = params + spec.get("parameters", [])
    spec.setdefault("responses", {"default": {"description": "any"}})
    return {
        "openapi": "3.0.3",
        "info": {"title": op.label, "version": "1"},
        "paths": {op.path: {op.method: spec}},
    }


def fixed(op: Operation, **values: str) -> Operation:
    """The operation with some path parameters fixed: the others are generated."""
    path = op.path
    for name, value in values.items():
        path = path.replace(f"{{{name}}}", value)
    named = ", ".join(f"{name}={value}" for name, value in values.items())
    return Operation(f"{op.label} at {named}", path, op.method, op.spec)


def path_names(path: str) -> list[str]:
    """The names of the path template's parameters, in order."""
    return re.findall(r"\{([^}]+)\}", path)


def _query(**schemas: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": False, "schema": s} for n, s in schemas.items()]


def _required_query(**schemas: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": True, "schema": s} for n, s in schemas.items()]


def _headers(**schemas: dict[str, Any]) -> list[dict[str, Any]]:
    # Header names take dashes: X_Account_Meta_Color -> X-Account-Meta-Color.
    return [
        {"name": n.replace("_", "-"), "in": "header", "required": False, "schema": s}
        for n, s in schemas.items()
    ]


def _one_of(*values: str) -> dict[str, Any]:
    """Values that name something real (or nearly): what positive cases pick among."""
    return {"type": "string", "enum": list(values)}


def _body(media: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"required": True, "content": {media: content}}


def _listing() -> list[dict[str, Any]]:
    """The query of account and container listings."""
    return _query(
        limit=_INT,
        marker=_STR,
        end_marker=_STR,
        prefix=_STR,
        delimiter=_STR,
        reverse=_BOOL_WORDS,
        format={"type": "string", "enum": ["json", "xml", "plain", "txt"]},
    ) + _headers(Accept={"type": "string", "enum": ["application/json", "text/xml", "*/*"]})


def _conditions() -> list[dict[str, Any]]:
    return _headers(
        If_Match=_STR,
        If_None_Match=_STR,
        If_Modified_Since=_DATE,
        If_Unmodified_Since=_DATE,
    )


# -- Swift ----------------------------------------------------------------------------------


def swift_operations(ids: dict[str, str]) -> list[Operation]:
    """Every shape of Swift request, with examples naming the run's real resources."""
    return [
        *_account_operations(),
        *_container_operations(),
        *_object_operations(ids),
        Operation(
            "GET /object/info",
            "/object/info",
            "get",
            {"parameters": _query(swiftinfo_sig=_STR, swiftinfo_expires=_STR)},
        ),
        Operation("GET /object/crossdomain.xml", "/object/crossdomain.xml", "get", {}),
    ]


def _account_operations() -> list[Operation]:
    meta = _headers(
        X_Account_Meta_Color=_STR,
        X_Remove_Account_Meta_Color=_STR,
        X_Account_Meta_Quota_Bytes=_LOOSE,
        X_Remove_Account_Meta_Quota_Bytes=_STR,
        X_Account_Meta_Temp_URL_Key=_STR,
        X_Account_Meta_Temp_URL_Key_2=_STR,
        X_Account_Access_Control=_STR,
    )
    bulk = _body("text/plain", {"type": "string", "maxLength": 300}, "/fuzz-bulk/gone\n")
    return [
        Operation(f"GET {SWIFT}", SWIFT, "get", {"parameters": _listing()}),
        Operation(f"HEAD {SWIFT}", SWIFT, "head", {}),
        Operation(f"POST {SWIFT}", SWIFT, "post", {"parameters": meta}),
        Operation(
            f"POST {SWIFT}?bulk-delete",
            SWIFT,
            "post",
            {
                "parameters": _required_query(**{"bulk-delete": {"type": "string", "enum": [""]}})
                + _headers(
                    Accept={
                        "type": "string",
                        "enum": ["application/json", "text/plain", "application/xml"],
                    }
                ),
                "requestBody": bulk,
            },
        ),
    ]


def _container_operations() -> list[Operation]:
    settable = _headers(
        X_Container_Read=_STR,
        X_Container_Write=_STR,
        X_Versions_Location=_STR,
        X_History_Location=_STR,
        X_Remove_Versions_Location=_STR,
        X_Container_Meta_Quota_Bytes=_LOOSE,
        X_Container_Meta_Quota_Count=_LOOSE,
        X_Container_Meta_Color=_STR,
        X_Remove_Container_Meta_Color=_STR,
        X_Container_Meta_Temp_URL_Key=_STR,
        X_Container_Meta_Access_Control_Allow_Origin=_STR,
    )
    policy = _headers(X_Storage_Policy={"type": "string", "enum": ["Policy-0", "gold", ""]})
    return [
        Operation(f"PUT {CONTAINER}", CONTAINER, "put", {"parameters": settable + policy}),
        Operation(
            f"GET {CONTAINER}",
            CONTAINER,
            "get",
            {
                "parameters": _listing() + _query(path=_STR),
            },
        ),
        Operation(f"HEAD {CONTAINER}", CONTAINER, "head", {}),
        Operation(f"POST {CONTAINER}", CONTAINER, "post", {"parameters": settable}),
        Operation(f"DELETE {CONTAINER}", CONTAINER, "delete", {}),
    ]


def slo_manifest(ids: dict[str, str]) -> list[dict[str, Any]]:
    """An SLO manifest of the run's two segments."""
    return [
        {"path": f"/{ids['segments']}/seg-1", "etag": ids["seg_etag_1"], "size_bytes": 5},
        {"path": f"/{ids['segments']}/seg-2", "etag": None, "size_bytes": None,
         "range": "0-2"},
    ]  # fmt: skip


def _segment() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "path": _STR,
            "etag": {"type": "string", "nullable": True},
            "size_bytes": {"type": "integer", "nullable": True},
            "range": _STR,
            "data": _STR,
        },
    }


def _object_operations(ids: dict[str, str]) -> list[Operation]:
    written = _headers(
        ETag=_STR,
        Content_Type=_STR,
        Content_Disposition=_STR,
        Content_Encoding=_STR,
        X_Delete_At=_LOOSE,
        X_Delete_After=_LOOSE,
        X_Object_Meta_Color=_STR,
        X_Object_Manifest=_STR,
        X_Detect_Content_Type=_BOOL_WORDS,
        If_None_Match=_STR,
        X_Static_Large_Object=_BOOL_WORDS,
    )
    # Real sources (and missing ones): generated paths would all be 404s or 412s.
    sources = [f"{ids['container']}/{name}" for name in ("plain", "slo", "dlo", "missing")]
    copy = _headers(
        X_Copy_From=_one_of(*sources, f"/{ids['container']}/plain", "no-slash"),
        X_Copy_From_Account=_STR,
        X_Fresh_Metadata=_BOOL_WORDS,
        X_Object_Meta_Color=_STR,
        Content_Type=_STR,
    )
    ranges = _one_of("bytes=1-3", "bytes=-2", "bytes=4-", "bytes=0-0,2-3,-1", "bytes=50-60")
    read = _conditions() + _headers(Range=ranges)
    read += _query(
        **{"multipart-manifest": {"type": "string", "enum": ["get", "put", "delete"]}},
        format={"type": "string", "enum": ["raw", "json"]},
    )
    # A signature makes the request a temp URL's: its own operation, or every GET is a 401.
    temp_url = _required_query(temp_url_sig=_STR, temp_url_expires=_STR) + _query(
        filename=_STR, inline=_STR
    )
    manifest = {"type": "array", "items": _segment(), "maxItems": 4}
    return [
        Operation(
            f"PUT {OBJECT}",
            OBJECT,
            "put",
            {
                "parameters": written,
                "requestBody": _body("application/octet-stream", _BYTES, b"hello"),
            },
        ),
        Operation(f"PUT {OBJECT} X-Copy-From", OBJECT, "put", {"parameters": copy}),
        Operation(
            f"PUT {OBJECT}?multipart-manifest=put",
            OBJECT,
            "put",
            {
                "parameters": _required_query(
                    **{"multipart-manifest": {"type": "string", "enum": ["put"]}}
                )
                + _query(heartbeat=_BOOL_WORDS)
                + _headers(ETag=_STR),
                "requestBody": _body("application/json", manifest, slo_manifest(ids)),
            },
        ),
        Operation(f"GET {OBJECT}", OBJECT, "get", {"parameters": read}),
        Operation(f"HEAD {OBJECT}", OBJECT, "head", {"parameters": read}),
        Operation(f"GET {OBJECT} temp URL", OBJECT, "get", {"parameters": temp_url}),
        Operation(
            f"POST {OBJECT}",
            OBJECT,
            "post",
            {
                "parameters": _headers(
                    Content_Type=_STR,
                    X_Delete_At=_LOOSE,
                    X_Delete_After=_LOOSE,
                    X_Remove_Delete_At=_STR,
                    X_Object_Meta_Color=_STR,
                    X_Object_Manifest=_STR,
                )
            },
        ),
        Operation(
            f"DELETE {OBJECT}",
            OBJECT,
            "delete",
            {
                "parameters": _query(
                    **{"multipart-manifest": {"type": "string", "enum": ["delete", "get"]}}
                )
            },
        ),
        # OpenAPI has no COPY: described as a POST the runner sends as x-method.
        Operation(
            f"COPY {OBJECT}",
            OBJECT,
            "post",
            {
                "x-method": "COPY",
                "parameters": _headers(
                    Destination=_one_of(
                        f"{ids['container']}/copied",
                        f"/{ids['container']}/copied",
                        "missing/copied",
                        "no-slash",
                    ),
                    Destination_Account=_STR,
                    X_Fresh_Metadata=_BOOL_WORDS,
                    X_Object_Meta_Color=_STR,
                )
                + _query(**{"multipart-manifest": {"type": "string", "enum": ["get"]}}),
            },
        ),
    ]


# -- S3 -------------------------------------------------------------------------------------


def _flag(*names: str) -> list[dict[str, Any]]:
    """Subresources that select the operation: present, with an empty value."""
    return _required_query(**{n: {"type": "string", "enum": [""]} for n in names})


def _xml(example: str) -> dict[str, Any]:
    return _body("application/xml", {"type": "string", "maxLength": 400}, example)


def s3_operations(ids: dict[str, str]) -> list[Operation]:
    """Every shape of S3 request the app routes, with examples naming real resources."""
    listing = _query(
        **{
            "list-type": {"type": "string", "enum": ["2", "1", "3"]},
            "continuation-token": _STR,
            "max-keys": _LOOSE,
            "start-after": _STR,
            "encoding-type": {"type": "string", "enum": ["url", "xml"]},
            "fetch-owner": _BOOL_WORDS,
        },
        prefix=_STR,
        delimiter=_STR,
        marker=_STR,
    )
    written = _headers(
        Content_MD5=_STR,
        Content_Type=_STR,
        x_amz_meta_color=_STR,
        Cache_Control=_STR,
        x_amz_storage_class={"type": "string", "enum": ["STANDARD", "GLACIER"]},
    )
    copy = _headers(
        x_amz_copy_source=_one_of(
            f"{ids['bucket']}/{ids['s3_key']}",
            f"/{ids['bucket']}/{ids['s3_key']}?versionId=null",
            f"{ids['bucket']}/missing",
            "no-slash",
        ),
        x_amz_metadata_directive={"type": "string", "enum": ["COPY", "REPLACE"]},
        x_amz_copy_source_if_match=_STR,
        x_amz_meta_color=_STR,
    )
    read = _headers(Range=_one_of("bytes=0-1", "bytes=-3", "bytes=3-", "bytes=90-99"),
                    If_Match=_STR,
                    If_None_Match=_STR, If_Modified_Since=_DATE)  # fmt: skip
    read += _query(
        partNumber=_LOOSE,
        **{"response-content-type": _STR, "response-content-disposition": _STR},
    )
    delete = "<Delete><Object><Key>gone</Key></Object><Quiet>true</Quiet></Delete>"
    complete = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{ids['part_etag']}</ETag></Part></CompleteMultipartUpload>"
    )
    upload = _required_query(uploadId=_one_of(ids["upload"], "no-such-upload"))
    list_parts = _query(**{"max-parts": _LOOSE, "part-number-marker": _LOOSE})
    uploads = _query(**{"max-uploads": _LOOSE, "key-marker": _STR, "upload-id-marker": _STR},
                     prefix=_STR, delimiter=_STR)  # fmt: skip
    return [
        Operation(f"GET {S3}", S3, "get", {}),
        Operation(
            f"PUT {BUCKET}",
            BUCKET,
            "put",
            {
                "parameters": _headers(
                    x_amz_acl={"type": "string", "enum": ["private", "public-read"]}
                )
            },
        ),
        Operation(f"HEAD {BUCKET}", BUCKET, "head", {}),
        Operation(f"GET {BUCKET}", BUCKET, "get", {"parameters": listing}),
        Operation(f"DELETE {BUCKET}", BUCKET, "delete", {}),
        Operation(f"GET {BUCKET}?location", BUCKET, "get", {"parameters": _flag("location")}),
        Operation(f"GET {BUCKET}?versioning", BUCKET, "get", {"parameters": _flag("versioning")}),
        Operation(f"GET {BUCKET}?acl", BUCKET, "get", {"parameters": _flag("acl")}),
        Operation(
            f"GET {BUCKET}?uploads", BUCKET, "get", {"parameters": _flag("uploads") + uploads}
        ),
        Operation(
            f"POST {BUCKET}?delete",
            BUCKET,
            "post",
            {
                "parameters": _flag("delete") + _headers(Content_MD5=_STR),
                "requestBody": _xml(delete),
            },
        ),
        Operation(
            f"PUT {KEY}",
            KEY,
            "put",
            {
                "parameters": written,
                "requestBody": _body("application/octet-stream", _BYTES, b"hello"),
            },
        ),
        Operation(f"PUT {KEY} x-amz-copy-source", KEY, "put", {"parameters": copy}),
        Operation(f"GET {KEY}", KEY, "get", {"parameters": read}),
        Operation(f"HEAD {KEY}", KEY, "head", {"parameters": read}),
        Operation(f"DELETE {KEY}", KEY, "delete", {}),
        Operation(f"GET {KEY}?acl", KEY, "get", {"parameters": _flag("acl")}),
        Operation(
            f"POST {KEY}?uploads",
            KEY,
            "post",
            {"parameters": _flag("uploads") + _headers(Content_Type=_STR, x_amz_meta_color=_STR)},
        ),
        Operation(
            f"PUT {KEY}?uploadId",
            KEY,
            "put",
            {
                "parameters": upload
                + _required_query(partNumber=_one_of("1", "2", "10000"))
                + _headers(Content_MD5=_STR),
                "requestBody": _body("application/octet-stream", _BYTES, b"part"),
            },
        ),
        Operation(f"GET {KEY}?uploadId", KEY, "get", {"parameters": upload + list_parts}),
        Operation(
            f"POST {KEY}?uploadId",
            KEY,
            "post",
            {
                "parameters": upload,
                "requestBody": _xml(complete),
            },
        ),
        Operation(f"DELETE {KEY}?uploadId", KEY, "delete", {"parameters": upload}),
    ]
