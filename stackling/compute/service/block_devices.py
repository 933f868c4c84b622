"""block_device_mapping(_v2) in a server-create body, checked as Nova's API checks it.

A boot from volume names its root disk here: a mapping with boot_index 0 and
destination `volume`, whose source is an existing volume, a snapshot, or an
image the volume is made from. Only volume destinations are kept (a `local`
image mapping is the ordinary image boot).
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from stackling.common import errors
from stackling.common.microversion import Version

SOURCES = ("image", "volume", "snapshot", "blank")
DESTINATIONS = ("local", "volume")
_BUSES = ("virtio", "scsi", "ide", "usb", "sata", "fdc", "xen", "uml", "lxc")
_KEYS = {
    "source_type", "destination_type", "uuid", "boot_index", "volume_size",
    "delete_on_termination", "device_name", "disk_bus", "device_type", "guest_format",
    "tag", "volume_type", "no_device", "image_id", "volume_id", "snapshot_id",
}  # fmt: skip


@dataclass(slots=True)
class BdmRequest:
    """One volume a new server should have, as the request asked for it."""

    source_type: str
    uuid: str | None
    boot_index: int | None
    volume_size: int | None = None
    delete_on_termination: bool = False
    device_name: str | None = None
    disk_bus: str | None = None
    device_type: str | None = None
    tag: str | None = None
    volume_type: str | None = None

    @property
    def is_root(self) -> bool:
        """The server boots from this volume."""
        return self.boot_index == 0


def invalid(why: str) -> errors.BadRequest:
    """Nova's wording for a mapping it refuses."""
    return errors.BadRequest(f"Block Device Mapping is Invalid: {why}")


def _bad(field_name: str, value: Any) -> errors.BadRequest:
    return errors.BadRequest(f"Invalid input for field/attribute {field_name}. Value: {value!r}.")


def _int(item: dict[str, Any], key: str, minimum: int) -> int | None:
    value = item.get(key)
    if value is None or (key == "boot_index" and value == ""):
        return None
    if isinstance(value, bool):
        raise _bad(key, value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(key, value) from None
    if number < minimum:
        raise _bad(key, value)
    return number


def _bool(item: dict[str, Any], key: str) -> bool:
    value = item.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise _bad(key, value)


def _text(item: dict[str, Any], key: str, max_len: int = 255) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise _bad(key, value)
    return value


def _one(item: Any, mv: Version) -> BdmRequest | None:
    if not isinstance(item, dict):
        raise _bad("block_device_mapping_v2", item)
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise errors.BadRequest(
            "Invalid input for field/attribute block_device_mapping_v2. Additional properties "
            f"are not allowed ({', '.join(repr(k) for k in unknown)} were unexpected)"
        )
    if item.get("no_device"):
        return None
    source = item.get("source_type")
    if source not in SOURCES:
        raise _bad("source_type", source)
    destination = item.get("destination_type", "volume" if source == "volume" else "local")
    if destination not in DESTINATIONS:
        raise _bad("destination_type", destination)
    ident = item.get("uuid")
    if source != "blank" and (not isinstance(ident, str) or not _is_uuid(ident)):
        raise invalid(f"Missing or invalid uuid for source_type {source}.")
    if "tag" in item and not mv.at_least("2.42"):
        raise _bad("tag", item["tag"])
    if "volume_type" in item and not mv.at_least("2.67"):
        raise errors.BadRequest(
            "Invalid input for field/attribute block_device_mapping_v2. Additional properties "
            "are not allowed ('volume_type' was unexpected)"
        )
    bus = _text(item, "disk_bus")
    if bus is not None and bus not in _BUSES:
        raise invalid(f"Unknown disk bus {bus}.")
    req = BdmRequest(
        source_type=source,
        uuid=ident if source != "blank" else None,
        boot_index=_int(item, "boot_index", -1),
        volume_size=_int(item, "volume_size", 0),
        delete_on_termination=_bool(item, "delete_on_termination"),
        device_name=_text(item, "device_name"),
        disk_bus=bus,
        device_type=_text(item, "device_type"),
        tag=_text(item, "tag", 60),
        volume_type=_text(item, "volume_type"),
    )
    if req.boot_index is not None and req.boot_index < 0:
        req.boot_index = None
    if destination == "local":
        # An image on the local disk is the plain image boot; local blanks are
        # ephemeral disks, which come from the flavor here.
        if source in ("volume", "snapshot"):
            raise invalid(f"Mapping source_type {source} needs destination_type volume.")
        return None
    if source in ("image", "blank") and not req.volume_size:
        raise invalid(
            "Images with destination_type 'volume' need to have a non-zero size specified"
        )
    return req


def _is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


def _legacy(items: Any) -> list[dict[str, Any]]:
    """block_device_mapping (v1) entries naming volumes, as v2 entries."""
    if not isinstance(items, list):
        raise _bad("block_device_mapping", items)
    converted = []
    for item in items:
        if not isinstance(item, dict):
            raise _bad("block_device_mapping", item)
        volume = item.get("volume_id")
        snapshot = item.get("snapshot_id")
        if not volume and not snapshot:
            continue
        root = item.get("device_name") in ("vda", "/dev/vda", "sda", "/dev/sda")
        converted.append(
            {
                "source_type": "volume" if volume else "snapshot",
                "destination_type": "volume",
                "uuid": volume or snapshot,
                "boot_index": 0 if root else None,
                "delete_on_termination": item.get("delete_on_termination", False),
                "device_name": item.get("device_name"),
                "volume_size": item.get("volume_size"),
            }
        )
    return converted


def parse(server: dict[str, Any], mv: Version) -> list[BdmRequest]:
    """The volume mappings of a server-create body; 400 in Nova's words on a bad one."""
    v2 = server.get("block_device_mapping_v2")
    v1 = server.get("block_device_mapping")
    if v2 is not None and v1 is not None:
        raise errors.BadRequest(
            "Using different block_device_mapping syntaxes is not allowed in the same request."
        )
    items = _legacy(v1) if v1 is not None else v2
    if items is None:
        return []
    if not isinstance(items, list):
        raise _bad("block_device_mapping_v2", items)
    found = [bdm for item in items if (bdm := _one(item, mv)) is not None]
    # Local image mappings are dropped above but still take their place in the boot order.
    indexes = sorted(
        index
        for item in items
        if isinstance(item, dict)
        and (index := _int(item, "boot_index", -1)) is not None
        and index >= 0
    )
    if indexes and indexes != list(range(len(indexes))):
        raise invalid(
            "Boot sequence for the instance and image/block device mapping combination "
            "is not valid."
        )
    return found
