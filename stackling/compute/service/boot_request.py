"""Reading a server-create body as Nova validates it, microversion by microversion."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from stackling.common import errors
from stackling.common.microversion import Version
from stackling.compute.service import block_devices, checks
from stackling.compute.service.block_devices import BdmRequest

# Nova limits user_data to 65535 bytes of base64 text.
MAX_USER_DATA = 65535
# Nova's server-name rule: printable, no leading or trailing whitespace.
_HOSTNAME_BAD = re.compile(r"[^a-z0-9-]+")
_TAG_MAX = 60


@dataclass(slots=True)
class BootRequest:
    """A validated server-create request."""

    name: str
    flavor_ref: str
    image_ref: str
    min_count: int = 1
    max_count: int = 1
    key_name: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    forced_host: str | None = None
    security_groups: list[str] = field(default_factory=list)
    networks: Any = None
    config_drive: bool = False
    admin_pass: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    hostname: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    group: str | None = None
    return_reservation_id: bool = False
    # The server boots from a volume: block_devices has one with boot_index 0.
    boot_volume: bool = False
    block_devices: list[BdmRequest] = field(default_factory=list)


def bad(field_name: str, value: Any, why: str = "") -> errors.BadRequest:
    """Nova's schema-validation wording."""
    detail = f" {why}" if why else ""
    return errors.BadRequest(
        f"Invalid input for field/attribute {field_name}. Value: {value!r}.{detail}"
    )


def check_name(value: Any, field_name: str = "name") -> str:
    """A server name: 1-255 characters, not starting or ending with whitespace."""
    if not isinstance(value, str):
        raise bad(field_name, value, f"{value!r} is not of type 'string'")
    if not 1 <= len(value) <= 255:
        raise bad(field_name, value, "The name must be 1 to 255 characters long.")
    if value != value.strip() or not value.isprintable():
        raise bad(
            field_name, value, "The name has leading/trailing whitespace or is not printable."
        )
    return value


def check_description(value: Any) -> str | None:
    """A server description (2.19): null, or at most 255 printable characters."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 255:
        raise bad("description", value, "It must be null or a string of at most 255 characters.")
    if not checks.printable(value):
        raise bad("description", value, "Only printable characters are allowed.")
    return value


def check_metadata(value: Any) -> dict[str, str]:
    """Server metadata: string keys of 1-255 characters, string values of at most 255."""
    if not isinstance(value, dict):
        raise bad("metadata", value, "Metadata must be an object.")
    for key, item in value.items():
        if not 1 <= len(key) <= 255:
            raise bad("metadata", value, "Metadata keys must be 1 to 255 characters long.")
        if not isinstance(item, str) or len(item) > 255:
            raise bad(
                "metadata", value, "Metadata values must be strings of at most 255 characters."
            )
    return dict(value)


def check_tags(value: Any) -> list[str]:
    """Server tags: at most 50 strings of 1-60 characters without '/' or ','."""
    if not isinstance(value, list) or len(value) > 50:
        raise bad("tags", value, "Tags must be a list of at most 50 strings.")
    for tag in value:
        if not isinstance(tag, str) or not 1 <= len(tag) <= _TAG_MAX or "/" in tag or "," in tag:
            raise bad("tags", value, "A tag is 1 to 60 characters without '/' or ','.")
    return list(dict.fromkeys(value))


def _count(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    value = checks.from_digits(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise bad(key, value, "It must be an integer of at least 1.")
    return value


def _user_data(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad("user_data", value)
    if len(value) > MAX_USER_DATA:
        raise errors.BadRequest(
            "User data too large. User data must be no larger than 65535 bytes once base64 encoded."
        )
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise errors.BadRequest("User data needs to be valid base 64.") from None
    return value


def _ip(value: Any, version: int, key: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        addr = ipaddress.ip_address(value)
    except (TypeError, ValueError):
        raise bad(key, value, "It is not a valid IP address.") from None
    if addr.version != version:
        raise bad(key, value, f"It is not an IPv{version} address.")
    return str(addr)


def _ref(value: Any, key: str) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise bad(key, value)
    return str(value).rstrip("/").rsplit("/", 1)[-1]


def _networks(value: Any, mv: Version) -> Any:
    if value is None:
        if mv.at_least("2.37"):
            raise errors.BadRequest("Invalid input for field/attribute networks: it is required.")
        return None
    if value in ("auto", "none"):
        if not mv.at_least("2.37"):
            raise bad("networks", value)
        return value
    if not isinstance(value, list):
        raise bad("networks", value)
    for net in value:
        if not isinstance(net, dict) or not ({"uuid", "port"} & set(net)):
            raise bad("networks", value, "Each network needs a uuid or a port.")
        for key in ("uuid", "port"):
            if key in net and net[key] is not None:
                try:
                    uuidlib.UUID(str(net[key]))
                except ValueError:
                    raise errors.BadRequest(
                        f"Bad networks format: network uuid is not in proper format ({net[key]})"
                    ) from None
    return value


def _security_groups(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad("security_groups", value)
    names = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise bad("security_groups", value)
        names.append(item["name"])
    return list(dict.fromkeys(names))


_KNOWN = {
    "name", "imageRef", "flavorRef", "min_count", "max_count", "key_name", "user_data",
    "metadata", "availability_zone", "security_groups", "networks", "config_drive",
    "adminPass", "description", "tags", "hostname", "accessIPv4", "accessIPv6",
    "block_device_mapping_v2", "block_device_mapping", "return_reservation_id",
    "OS-DCF:diskConfig", "personality", "trusted_image_certificates", "host",
    "hypervisor_hostname", "os:scheduler_hints",
}  # fmt: skip


def parse(body: dict[str, Any], mv: Version) -> BootRequest:
    """Validate a `{"server": {...}}` body; 400 with Nova's wording on the first problem."""
    server = body.get("server")
    if not isinstance(server, dict):
        raise bad("server", server, "'server' is a required property")
    unknown = sorted(set(server) - _KNOWN)
    if unknown:
        raise errors.BadRequest(
            f"Invalid input for field/attribute server. Additional properties are not allowed "
            f"({', '.join(repr(k) for k in unknown)} were unexpected)"
        )
    if "personality" in server and mv.at_least("2.57"):
        raise errors.BadRequest(
            "Invalid input for field/attribute server. Additional properties are not allowed "
            "('personality' was unexpected)"
        )
    if "name" not in server:
        raise errors.BadRequest(
            "Invalid input for field/attribute server. 'name' is a required property"
        )
    if "flavorRef" not in server:
        raise errors.BadRequest(
            "Invalid input for field/attribute server. 'flavorRef' is a required property"
        )
    req = BootRequest(
        name=check_name(server["name"]),
        flavor_ref=_ref(server["flavorRef"], "flavorRef"),
        image_ref=_ref(server["imageRef"], "imageRef") if server.get("imageRef") else "",
    )
    req.block_devices = block_devices.parse(server, mv)
    req.boot_volume = any(bdm.is_root for bdm in req.block_devices)
    if not req.image_ref and not req.boot_volume:
        raise errors.BadRequest("Missing imageRef attribute")
    min_count = _count(server, "min_count")
    max_count = _count(server, "max_count")
    req.min_count = min_count or 1
    req.max_count = max_count or req.min_count
    if req.min_count > req.max_count:
        raise errors.BadRequest("min_count must be <= max_count")
    key_name = server.get("key_name")
    if key_name is not None and (not isinstance(key_name, str) or not 1 <= len(key_name) <= 255):
        raise bad("key_name", key_name)
    req.key_name = key_name
    req.user_data = _user_data(server.get("user_data"))
    req.metadata = check_metadata(server.get("metadata", {}))
    _zone(req, server.get("availability_zone"))
    req.security_groups = _security_groups(server.get("security_groups"))
    req.networks = _networks(server.get("networks"), mv)
    drive = server.get("config_drive", False)
    if drive not in (True, False, "True", "False", "true", "false", "", None):
        raise bad("config_drive", drive)
    req.config_drive = drive in (True, "True", "true")
    admin_pass = server.get("adminPass")
    if admin_pass is not None and not isinstance(admin_pass, str):
        raise bad("adminPass", admin_pass)
    req.admin_pass = admin_pass
    if "description" in server:
        if not mv.at_least("2.19"):
            raise bad("server", server, "'description' is not allowed before 2.19")
        req.description = check_description(server["description"])
    if "tags" in server:
        if not mv.at_least("2.52"):
            raise bad("server", server, "'tags' is not allowed before 2.52")
        req.tags = check_tags(server["tags"])
    if "hostname" in server:
        if not mv.at_least("2.90"):
            raise bad("server", server, "'hostname' is not allowed before 2.90")
        req.hostname = check_hostname(server["hostname"])
    req.access_ip_v4 = _ip(server.get("accessIPv4"), 4, "accessIPv4")
    req.access_ip_v6 = _ip(server.get("accessIPv6"), 6, "accessIPv6")
    req.return_reservation_id = bool(server.get("return_reservation_id", False))
    hints = body.get("os:scheduler_hints") or server.get("os:scheduler_hints") or {}
    if not isinstance(hints, dict):
        raise bad("os:scheduler_hints", hints)
    group = hints.get("group")
    if group is not None:
        try:
            req.group = str(uuidlib.UUID(str(group)))
        except ValueError:
            raise bad("group", group, "It is not a valid UUID.") from None
    return req


def _zone(req: BootRequest, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise bad("availability_zone", value)
    zone, _, host = value.partition(":")
    req.availability_zone = zone or None
    req.forced_host = host.split(":", 1)[0] or None


def check_hostname(value: Any) -> str:
    """A hostname as 2.90 accepts it: 1-63 (or FQDN up to 255) of letters, digits, '-' and '.'."""
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise bad("hostname", value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", value) or value.endswith(("-", ".")):
        raise bad("hostname", value, "It is not a valid hostname.")
    return value


def sanitize_hostname(name: str, uuid: str) -> str:
    """The guest hostname Nova derives from a display name (`server-<uuid>` when none is left)."""
    host = _HOSTNAME_BAD.sub("-", name.lower().replace("_", "-").replace(".", "-")).strip("-")
    return host[:63].rstrip("-") or f"server-{uuid}"
