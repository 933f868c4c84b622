"""The EC2 tree: /<version>/meta-data/... and /<version>/user-data.

The tree is plain nested dicts. A dict that carries a "_name" is listed under
that name instead of "key/": this is how public-keys/ lists "0=mykey".
"""

from __future__ import annotations

from typing import Any

from stackling.compute.metadata.network import fixed_ipv4s, floating_ips
from stackling.compute.metadata.source import InstanceMetadataSource
from stackling.compute.metadata.versions import ec2_at_least

NAME_KEY = "_name"


def ec2_tree(source: InstanceMetadataSource, version: str) -> dict[str, Any]:
    """{"meta-data": {...}, "user-data": bytes} for a resolved EC2 version."""
    hostname = source.hostname
    fixed = fixed_ipv4s(source)
    floating = floating_ips(source)
    md: dict[str, Any] = {
        "ami-id": _ec2_id("ami", source.image_ec2_id),
        "ami-launch-index": source.launch_index,
        "ami-manifest-path": "FIXME",  # Nova's literal value; guests ignore it
        "instance-id": _ec2_id("i", source.ec2_id),
        "hostname": hostname,
        "local-ipv4": fixed[0] if fixed else "",
        "reservation-id": source.reservation_id,
        "security-groups": list(source.security_groups),
    }
    if source.key_pairs:
        md["public-keys"] = {
            str(i): {NAME_KEY: f"{i}={kp.name}", "openssh-key": kp.public_key}
            for i, kp in enumerate(source.key_pairs)
        }
    if ec2_at_least(version, "2007-01-19"):
        md["local-hostname"] = hostname
        md["public-hostname"] = hostname
        md["public-ipv4"] = floating[0] if floating else ""
    if ec2_at_least(version, "2007-08-29"):
        md["instance-type"] = source.flavor_name
    if ec2_at_least(version, "2007-12-15"):
        md["block-device-mapping"] = block_device_mapping(source)
    if ec2_at_least(version, "2008-02-01"):
        md["placement"] = {"availability-zone": source.availability_zone}
    if ec2_at_least(version, "2008-09-01"):
        md["instance-action"] = "none"
    tree: dict[str, Any] = {"meta-data": md}
    if source.user_data is not None:
        tree["user-data"] = source.user_data
    return tree


def block_device_mapping(source: InstanceMetadataSource) -> dict[str, str]:
    """EC2's block-device-mapping/: ami, root, ebsN, ephemeralN, swap."""
    root = source.root_device_name
    if root is None:
        # What Nova shows when it does not know the root device.
        return {"ami": "sda1", "ephemeral0": "sda2", "root": "/dev/sda1", "swap": "sda3"}
    mapping = {"ami": root.removeprefix("/dev/"), "root": root}
    for n, name in enumerate(sorted(source.volume_device_names)):
        mapping[f"ebs{n}"] = name
    if source.swap_device_name:
        mapping["swap"] = source.swap_device_name
    for n, name in enumerate(source.ephemeral_device_names):
        mapping[f"ephemeral{n}"] = name
    return mapping


def render(node: Any) -> str | bytes:
    """A node as the EC2 API prints it: a listing for a dict, lines for a list."""
    if isinstance(node, dict):
        lines = []
        for key in sorted(node):
            if key == NAME_KEY:
                continue
            child = node[key]
            if isinstance(child, dict):
                lines.append(str(child[NAME_KEY]) if NAME_KEY in child else f"{key}/")
            else:
                lines.append(key)
        return "\n".join(lines)
    if isinstance(node, list):
        return "\n".join(str(item) for item in node)
    if isinstance(node, bytes | str):
        return node
    return str(node)


def _ec2_id(prefix: str, number: int | None) -> str | None:
    return None if number is None else f"{prefix}-{number:08x}"
