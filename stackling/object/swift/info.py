"""GET /info: the capabilities clients discover (Swift's constraints and middleware)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from stackling.object.swift import formpost, tempurl
from stackling.settings import ObjectSettings

# Flash and Silverlight clients read this before cross-domain requests (crossdomain middleware).
CROSS_DOMAIN_POLICY = (
    '<?xml version="1.0"?>\n'
    "<!DOCTYPE cross-domain-policy SYSTEM "
    '"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd" >\n'
    "<cross-domain-policy>\n"
    '<allow-access-from domain="*" secure="false" />\n'
    "</cross-domain-policy>"
)


def capabilities(conf: ObjectSettings) -> dict[str, Any]:
    """What this cluster offers, in /info's shape."""
    return {
        "swift": {
            "version": "2.36.0",
            "max_file_size": conf.max_file_size,
            "max_meta_name_length": conf.max_meta_name_length,
            "max_meta_value_length": conf.max_meta_value_length,
            "max_meta_count": conf.max_meta_count,
            "max_meta_overall_size": conf.max_meta_overall_size,
            "max_header_size": conf.max_header_size,
            "max_object_name_length": conf.max_object_name_length,
            "max_container_name_length": conf.max_container_name_length,
            "container_listing_limit": conf.container_listing_limit,
            "account_listing_limit": conf.account_listing_limit,
            "extra_header_count": 0,
            "valid_api_versions": ["v1", "v1.0"],
            "strict_cors_mode": True,
            "allow_account_management": False,
            "account_autocreate": True,
            "policies": [{"name": "Policy-0", "default": True, "aliases": "Policy-0"}],
        },
        "account_quotas": {},
        "versioned_writes": {"allowed_flags": ["x-versions-location", "x-history-location"]},
        "crossdomain": {"cross_domain_policy": '<allow-access-from domain="*" secure="false" />'},
        "container_quotas": {},
        "tempurl": tempurl.capabilities(),
        "formpost": formpost.capabilities(),
        "slo": {
            "max_manifest_segments": conf.max_manifest_segments,
            "max_manifest_size": conf.max_manifest_size,
            "min_segment_size": conf.min_segment_size,
        },
        "bulk_delete": {
            "max_deletes_per_request": conf.max_deletes_per_request,
            "max_failed_deletes": 1000,
        },
        "bulk_upload": {
            "max_containers_per_extraction": conf.max_containers_per_extraction,
            "max_failed_extractions": 1000,
        },
    }


def respond(request: Request, runtime: Any, trans_id: str) -> Response:
    """The capabilities as JSON (HEAD and GET)."""
    conf = runtime.service("object").svc.conf
    doc = capabilities(conf)
    body = b"" if request.method == "HEAD" else json.dumps(doc).encode()
    return Response(
        body,
        headers={"X-Trans-Id": trans_id},
        media_type="application/json; charset=utf-8",
    )
