"""Temporary URLs: a signed, expiring grant to one object for one method.

As Swift's tempurl middleware: the signature is an HMAC, keyed with one of the
account's or the container's Temp-URL-Key(-2), over "METHOD\\nEXPIRES\\nPATH"
(with "ip=RANGE\\n" first when the grant is limited to addresses, and PATH
"prefix:/v1/AUTH_x/c/<prefix>" for a grant to every object under a prefix).
Clients sign the path of the URL they were given, so both /v1/... and the
/object/v1/... we serve it under are accepted.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import time
from email.utils import formatdate
from ipaddress import ip_address, ip_network
from urllib.parse import quote

from starlette.responses import Response

from stackling.common import errors
from stackling.object.service import accounts, containers
from stackling.object.swift.call import Call

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
# Swift 2.36's defaults: all three, sha1 deprecated (kept for older clients).
ALLOWED_DIGESTS = ("sha1", "sha256", "sha512")
DEPRECATED_DIGESTS = ("sha1",)
_HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
KEY_NAMES = ("temp-url-key", "temp-url-key-2")
PARAMS = ("temp_url_sig", "temp_url_expires", "temp_url_prefix", "filename", "inline")
# Headers a write through a temp URL may not carry: they would point the new
# object at data the grant does not cover.
DISALLOWED = ("x-object-manifest", "x-symlink-target")
INCOMING_REMOVE = ("x-timestamp", "x-open-expired")
OUTGOING_REMOVE = ("x-object-meta-*",)
OUTGOING_ALLOW = ("x-object-meta-public-*",)
ISO8601 = "%Y-%m-%dT%H:%M:%SZ"
PREFIX = "/object"


def capabilities() -> dict[str, list[str]]:
    """The tempurl section of /info, as Swift registers it."""
    return {
        "methods": list(METHODS),
        "incoming_remove_headers": list(INCOMING_REMOVE),
        "incoming_allow_headers": [],
        "outgoing_remove_headers": list(OUTGOING_REMOVE),
        "outgoing_allow_headers": list(OUTGOING_ALLOW),
        "allowed_digests": list(ALLOWED_DIGESTS),
        "deprecated_digests": list(DEPRECATED_DIGESTS),
    }


def invalid() -> errors.StacklingError:
    """The 401 every failed temp URL gets, whatever the reason."""
    return errors.Unauthorized("Temp URL invalid")


def expiry(value: str) -> int:
    """Unix seconds from an integer or an ISO 8601 UTC time; 0 when malformed."""
    try:
        return int(value)
    except ValueError:
        try:
            return calendar.timegm(time.strptime(value, ISO8601))
        except ValueError:
            return 0


def parse_expires(value: str) -> int:
    """The expiry of a temp URL still valid; 0 when malformed or past."""
    when = expiry(value)
    return when if when >= time.time() else 0


def parse_signature(value: str) -> tuple[str, str]:
    """(digest name, hex signature) from hex or "<digest>:<base64>"; ValueError when bad."""
    if ":" in value:
        algo, encoded = value.split(":", 1)
        if ("-" in encoded or "_" in encoded) and not ("+" in encoded or "/" in encoded):
            encoded = encoded.replace("-", "+").replace("_", "/")
        encoded = encoded.rstrip("=")
        encoded += "=" * (-len(encoded) % 4)
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ValueError("bad base64 signature") from None
        return algo.lower(), raw.hex()
    bytes.fromhex(value)
    algo = _HEX_LENGTHS.get(len(value))
    if algo is None:
        raise ValueError("bad digest length")
    return algo, value.lower()


def sign(key: str, method: str, expires: int, path: str, digest: str, ip_range: str = "") -> str:
    """The hex HMAC Swift expects for these values."""
    parts = [method, str(expires), path]
    if ip_range:
        parts.insert(0, f"ip={ip_range}")
    return hmac.new(key.encode(), "\n".join(parts).encode(), getattr(hashlib, digest)).hexdigest()


def keys_of(meta: dict[str, object], kind: str) -> list[str]:
    """The temp URL keys set in account or container metadata."""
    out = []
    for name in KEY_NAMES:
        value = meta.get(f"x-{kind}-meta-{name}")
        if isinstance(value, str) and value:
            out.append(value)
    return out


async def keys_for(call: Call) -> list[str]:
    """The account's keys, then the container's (a missing container has none)."""
    acct = await accounts.get_account(call.svc, call.account)
    found = keys_of(acct.meta, "account")
    row = await containers.lookup(call.svc, call.account, call.container or "")
    if row is not None:
        found += keys_of(row.meta, "container")
    return found


def signed_paths(call: Call, prefix: str | None) -> list[str]:
    """What a client may have signed: the path with and without our /object prefix."""
    if prefix is None:
        tail = f"/v1/AUTH_{call.account}/{call.container}/{call.obj}"
        return [tail, PREFIX + tail]
    tail = f"/v1/AUTH_{call.account}/{call.container}/{prefix}"
    return [f"prefix:{tail}", f"prefix:{PREFIX}{tail}"]


def _client_in(call: Call, ip_range: str) -> bool:
    client = call.request.client
    if client is None:
        return False
    try:
        return ip_address(client.host) in ip_network(ip_range)
    except ValueError:
        return False


async def authorize(call: Call) -> bool:
    """Whether the request carries a valid temp URL signature for its path and method.

    False when it carries no temp URL at all (normal authentication goes on);
    401 when it carries one that does not grant this request.
    """
    q = call.query
    if call.method == "OPTIONS" or ("temp_url_sig" not in q and "temp_url_expires" not in q):
        return False
    expires = parse_expires(q.get("temp_url_expires", ""))
    sig = q.get("temp_url_sig", "")
    # Only an object, never a container or account, and only the methods Swift allows.
    obj = call.obj or ""
    if not sig or not expires or call.method not in METHODS or not obj.strip("/"):
        raise invalid()
    try:
        digest, sig = parse_signature(sig)
    except ValueError:
        raise invalid() from None
    if digest not in ALLOWED_DIGESTS:
        raise invalid()
    prefix = q.get("temp_url_prefix")
    if prefix is not None and not obj.startswith(prefix):
        raise invalid()
    ip_range = q.get("temp_url_ip_range", "")
    if ip_range and not _client_in(call, ip_range):
        raise invalid()
    keys = await keys_for(call)
    # A HEAD may use a URL made for GET, POST or PUT too: it reveals no more.
    methods = ("HEAD", "GET", "POST", "PUT") if call.method == "HEAD" else (call.method,)
    valid = False
    for key in keys:
        for method in methods:
            for path in signed_paths(call, prefix):
                expected = sign(key, method, expires, path, digest, ip_range)
                valid |= hmac.compare_digest(expected, sig)
    if not valid:
        raise invalid()
    if call.method not in ("GET", "HEAD"):
        for name in DISALLOWED:
            if name in call.headers:
                title = "-".join(p.capitalize() for p in name.split("-"))
                raise errors.BadRequest(f"The header {title!r} is not allowed in this tempurl")
    # As Swift rewrites the query string: what follows sees only the temp URL's
    # own parameters, so none can widen the grant (multipart-manifest, bulk...).
    call.query = {k: v for k, v in q.items() if k in PARAMS}
    return True


def _hidden(name: str) -> bool:
    name = name.lower()
    if any(name.startswith(p[:-1]) if p.endswith("*") else name == p for p in OUTGOING_ALLOW):
        return False
    return any(name.startswith(p[:-1]) if p.endswith("*") else name == p for p in OUTGOING_REMOVE)


def disposition(kind: str, filename: str) -> str:
    """A Content-Disposition value naming the file, in both of RFC 6266's forms."""
    return f"{kind}; filename=\"{quote(filename, safe=' /')}\"; filename*=UTF-8''{quote(filename)}"


def finish(call: Call, response: Response) -> Response:
    """A temp URL's response: private metadata removed; GET/HEAD named for download."""
    for name in [k for k in response.headers if _hidden(k)]:
        del response.headers[name]
    if call.method not in ("GET", "HEAD") or not 200 <= response.status_code < 300:
        return response
    filename = call.query.get("filename")
    existing = response.headers.get("content-disposition")
    if "inline" in call.query:
        value = disposition("inline", filename) if filename else "inline"
    elif filename:
        value = disposition("attachment", filename)
    elif existing:
        value = existing
    else:
        value = disposition("attachment", (call.obj or "").rstrip("/").rsplit("/", 1)[-1])
    response.headers["Content-Disposition"] = value.replace("\n", "%0A")
    expires = expiry(call.query.get("temp_url_expires", ""))
    response.headers["Expires"] = formatdate(expires, usegmt=True)
    return response
