"""The OpenStack tree: /openstack/<version>/meta_data.json and its siblings."""

from __future__ import annotations

import base64
import os
from typing import Any

from stackling.compute.metadata.source import DeviceInfo, InstanceMetadataSource
from stackling.compute.metadata.versions import (
    GRIZZLY,
    HAVANA,
    LIBERTY,
    NEWTON_ONE,
    NEWTON_TWO,
    OCATA,
    ROCKY,
    VICTORIA,
    os_at_least,
)

META_DATA = "meta_data.json"
USER_DATA = "user_data"
PASSWORD = "password"
VENDOR_DATA = "vendor_data.json"
VENDOR_DATA2 = "vendor_data2.json"
NETWORK_DATA = "network_data.json"

# Size of the fresh entropy every meta_data.json carries (guests seed their RNG with it).
_RANDOM_SEED_BYTES = 512
_KNOWN_BUSES = frozenset({"pci", "usb", "scsi", "ide", "xen", "none"})


def meta_data(
    source: InstanceMetadataSource, version: str, *, config_drive: bool = False
) -> dict[str, Any]:
    """meta_data.json for a resolved version; admin_pass only when `config_drive`."""
    md: dict[str, Any] = {"uuid": source.uuid}
    if source.metadata:
        md["meta"] = dict(source.metadata)
    if config_drive and source.admin_pass:
        md["admin_pass"] = source.admin_pass
    if source.key_pairs:
        md["public_keys"] = {kp.name: kp.public_key for kp in source.key_pairs}
        if os_at_least(version, LIBERTY):
            md["keys"] = [
                {"name": kp.name, "type": kp.type, "data": kp.public_key} for kp in source.key_pairs
            ]
    md["hostname"] = source.hostname
    md["name"] = source.name
    md["launch_index"] = source.launch_index
    md["availability_zone"] = source.availability_zone
    if os_at_least(version, GRIZZLY):
        md["random_seed"] = base64.b64encode(os.urandom(_RANDOM_SEED_BYTES)).decode("ascii")
    if os_at_least(version, LIBERTY):
        md["project_id"] = source.project_id
    if os_at_least(version, NEWTON_ONE):
        md["devices"] = devices(source.devices, version)
    if os_at_least(version, VICTORIA):
        md["dedicated_cpus"] = sorted(source.dedicated_cpus)
    return md


def devices(items: tuple[DeviceInfo, ...], version: str) -> list[dict[str, Any]]:
    """The `devices` list of meta_data.json, with what `version` shows of each."""
    out: list[dict[str, Any]] = []
    for device in items:
        if device.bus not in _KNOWN_BUSES:
            continue
        entry: dict[str, Any] = {}
        if device.type == "nic":
            if os_at_least(version, OCATA) and device.vlan is not None:
                entry["vlan"] = device.vlan
            if os_at_least(version, ROCKY):
                entry["vf_trusted"] = bool(device.vf_trusted)
            entry["type"] = "nic"
            entry["mac"] = device.mac
            # A NIC with nothing to say in this version is left out.
            if not (device.tags or "vlan" in entry or "vf_trusted" in entry):
                continue
        elif device.type == "disk":
            entry["type"] = "disk"
            if device.serial is not None:
                entry["serial"] = device.serial
            if device.path is not None:
                entry["path"] = device.path
        else:
            continue
        entry["bus"] = device.bus
        entry["address"] = device.address
        if device.tags:
            entry["tags"] = list(device.tags)
        out.append(entry)
    return out


def vendor_data(source: InstanceMetadataSource) -> dict[str, Any]:
    """vendor_data.json: the static vendor data."""
    return dict(source.vendor_data)


def vendor_data2(source: InstanceMetadataSource) -> dict[str, Any]:
    """vendor_data2.json: the static vendor data under "static", beside dynamic members."""
    out: dict[str, Any] = {"static": dict(source.vendor_data)}
    for name, value in source.dynamic_vendor_data.items():
        # Nova drops a dynamic member that would shadow an earlier one.
        out.setdefault(name, value)
    return out


def version_listing(source: InstanceMetadataSource, version: str) -> list[str]:
    """What GET /openstack/<version> lists, in Nova's order."""
    names = [META_DATA]
    if source.user_data is not None:
        names.append(USER_DATA)
    if os_at_least(version, GRIZZLY):
        names.append(PASSWORD)
    if os_at_least(version, HAVANA):
        names.append(VENDOR_DATA)
    if os_at_least(version, LIBERTY):
        names.append(NETWORK_DATA)
    if os_at_least(version, NEWTON_TWO):
        names.append(VENDOR_DATA2)
    return names
