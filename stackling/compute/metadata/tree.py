"""One resolver for every metadata path, shared by the HTTP app and the config drive."""

from __future__ import annotations

import enum
import json
import posixpath
from dataclasses import dataclass
from typing import Any

from stackling.compute.metadata import ec2, openstack
from stackling.compute.metadata.network import network_data
from stackling.compute.metadata.source import InstanceMetadataSource
from stackling.compute.metadata.versions import (
    EC2_CONFIG_DRIVE_VERSIONS,
    EC2_VERSIONS,
    GRIZZLY,
    HAVANA,
    LATEST,
    LIBERTY,
    NEWTON_TWO,
    OPENSTACK_VERSIONS,
    ec2_version,
    listed_openstack_versions,
    openstack_version,
    os_at_least,
)

TEXT_PLAIN = "text/plain"
APPLICATION_JSON = "application/json"
OCTET_STREAM = "application/octet-stream"


class Kind(enum.Enum):
    """What a path names."""

    FILE = "file"
    LISTING = "listing"
    PASSWORD = "password"  # a file the guest may also POST to, once
    NOT_FOUND = "not-found"


@dataclass(frozen=True, slots=True)
class Resolved:
    """The answer for one path: a body to send, or nothing there."""

    kind: Kind
    body: bytes = b""
    content_type: str = TEXT_PLAIN
    entries: tuple[str, ...] = ()  # a listing's names, as sent one per line

    @property
    def found(self) -> bool:
        """Whether the path names something."""
        return self.kind is not Kind.NOT_FOUND


NOT_FOUND = Resolved(Kind.NOT_FOUND)


def resolve(source: InstanceMetadataSource, path: str, *, config_drive: bool = False) -> Resolved:
    """What GET `path` returns for this instance (admin_pass only when `config_drive`)."""
    tokens = split_path(path)
    if tokens[:1] == ["openstack"]:
        return _openstack(source, tokens[1:], config_drive)
    # Nova serves the EC2 tree both at the root and under /ec2.
    if tokens[:1] == ["ec2"]:
        tokens = tokens[1:]
    return _ec2(source, tokens)


def split_path(path: str) -> list[str]:
    """A request path as Nova reads it: normalised, no empty segments ("/" → [])."""
    normal = posixpath.normpath("/" + path.lstrip("/"))
    return [t for t in normal.split("/") if t]


def root_listing() -> Resolved:
    """GET / : the EC2 versions (answered before knowing who asks, as Nova does)."""
    return _listing([*EC2_VERSIONS, LATEST])


def is_password_path(path: str) -> bool:
    """Whether `path` is an /openstack/<version>/password the guest may POST to."""
    tokens = split_path(path)
    if len(tokens) != 3 or tokens[0] != "openstack" or tokens[2] != openstack.PASSWORD:
        return False
    version = openstack_version(tokens[1])
    return version is not None and os_at_least(version, GRIZZLY)


def config_drive_files(source: InstanceMetadataSource) -> dict[str, bytes]:
    """Every file of a config drive, by its path on the drive (Nova's layout)."""
    files: dict[str, bytes] = {}
    for version in EC2_CONFIG_DRIVE_VERSIONS:
        resolved = ec2_version(version)
        assert resolved is not None
        tree = ec2.ec2_tree(source, resolved)
        if source.user_data is not None:
            files[f"ec2/{version}/user-data"] = source.user_data
        # Nova means to drop public-keys' "_name" here but never does; guests
        # reading this file have always seen it, so it stays.
        files[f"ec2/{version}/meta-data.json"] = _json(tree["meta-data"])
    for version in (*OPENSTACK_VERSIONS, LATEST):
        wanted = [openstack.META_DATA]
        if source.user_data is not None:
            wanted.append(openstack.USER_DATA)
        resolved = openstack_version(version)
        assert resolved is not None
        if os_at_least(resolved, HAVANA):
            wanted.append(openstack.VENDOR_DATA)
        if os_at_least(resolved, LIBERTY):
            wanted.append(openstack.NETWORK_DATA)
        if os_at_least(resolved, NEWTON_TWO):
            wanted.append(openstack.VENDOR_DATA2)
        for name in wanted:
            path = f"openstack/{version}/{name}"
            files[path] = resolve(source, path, config_drive=True).body
    return files


def _openstack(source: InstanceMetadataSource, tokens: list[str], config_drive: bool) -> Resolved:
    if not tokens:
        return _listing(listed_openstack_versions())
    version = openstack_version(tokens[0])
    if version is None:
        return NOT_FOUND
    name = "/".join(tokens[1:])
    if not name:
        return _listing(openstack.version_listing(source, version))
    if name == openstack.META_DATA:
        return _json_file(openstack.meta_data(source, version, config_drive=config_drive))
    if name == openstack.USER_DATA:
        if source.user_data is None:
            return NOT_FOUND
        return Resolved(Kind.FILE, source.user_data, OCTET_STREAM)
    if name == openstack.PASSWORD:
        if not os_at_least(version, GRIZZLY):
            return NOT_FOUND
        return Resolved(Kind.PASSWORD, (source.password or "").encode("utf-8"))
    if name == openstack.VENDOR_DATA:
        if not os_at_least(version, HAVANA):
            return NOT_FOUND
        return _json_file(openstack.vendor_data(source))
    if name == openstack.VENDOR_DATA2:
        if not os_at_least(version, NEWTON_TWO):
            return NOT_FOUND
        return _json_file(openstack.vendor_data2(source))
    if name == openstack.NETWORK_DATA:
        # Nova answers this for every version, though it lists it from 2015-10-15 on.
        return _json_file(network_data(source))
    return NOT_FOUND


def _ec2(source: InstanceMetadataSource, tokens: list[str]) -> Resolved:
    if not tokens:
        return root_listing()
    version = ec2_version(tokens[0])
    if version is None:
        return NOT_FOUND
    node: Any = ec2.ec2_tree(source, version)
    for token in tokens[1:]:
        if not isinstance(node, dict) or token not in node or token == ec2.NAME_KEY:
            return NOT_FOUND
        node = node[token]
    if isinstance(node, dict):
        text = ec2.render(node)
        assert isinstance(text, str)
        return _listing(text.split("\n") if text else [])
    rendered = ec2.render(node)
    if isinstance(rendered, bytes):
        return Resolved(Kind.FILE, rendered, OCTET_STREAM)
    return Resolved(Kind.FILE, rendered.encode("utf-8"), TEXT_PLAIN)


def _listing(entries: list[str]) -> Resolved:
    return Resolved(Kind.LISTING, "\n".join(entries).encode("utf-8"), TEXT_PLAIN, tuple(entries))


def _json_file(data: dict[str, Any]) -> Resolved:
    return Resolved(Kind.FILE, _json(data), APPLICATION_JSON)


def _json(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8")
