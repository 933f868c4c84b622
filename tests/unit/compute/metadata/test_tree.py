"""The path resolver and the config drive's file list."""

from __future__ import annotations

import json

import pytest

from stackling.compute.metadata.tree import (
    Kind,
    config_drive_files,
    is_password_path,
    resolve,
    split_path,
)
from tests.unit.compute.metadata.sources import BINARY_USER_DATA, UUID, make_source

OPENSTACK_DATES = [
    "2012-08-10",
    "2013-04-04",
    "2013-10-17",
    "2015-10-15",
    "2016-06-30",
    "2016-10-06",
    "2017-02-22",
    "2018-08-27",
    "2020-10-14",
    "2025-04-04",
]


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ("/", []),
        ("", []),
        ("//", []),
        ("/openstack/", ["openstack"]),
        ("openstack/latest", ["openstack", "latest"]),
        ("/openstack//latest/./meta_data.json", ["openstack", "latest", "meta_data.json"]),
        ("/openstack/latest/../2012-08-10", ["openstack", "2012-08-10"]),
        ("/../../etc/passwd", ["etc", "passwd"]),
    ],
)
def test_split_path(path: str, tokens: list[str]) -> None:
    assert split_path(path) == tokens


def test_trailing_slash_and_dot_segments_name_the_same_file() -> None:
    source = make_source()
    a = resolve(source, "/openstack/latest/")
    b = resolve(source, "/openstack/./latest")
    assert a.kind is Kind.LISTING
    assert a.body == b.body


def test_dot_dot_cannot_escape_the_tree() -> None:
    assert resolve(make_source(), "/../../etc/passwd").kind is Kind.NOT_FOUND


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/openstack/latest/password", True),
        ("/openstack/2013-04-04/password/", True),
        ("/openstack/2012-08-10/password", False),
        ("/openstack/latest/meta_data.json", False),
        ("/latest/password", False),
        ("/openstack/1999-01-01/password", False),
    ],
)
def test_is_password_path(path: str, expected: bool) -> None:
    assert is_password_path(path) is expected


def expected_drive_paths(with_user_data: bool) -> set[str]:
    paths = set()
    for version in ["2009-04-04", "latest"]:
        paths.add(f"ec2/{version}/meta-data.json")
        if with_user_data:
            paths.add(f"ec2/{version}/user-data")
    for version in [*OPENSTACK_DATES, "latest"]:
        paths.add(f"openstack/{version}/meta_data.json")
        if with_user_data:
            paths.add(f"openstack/{version}/user_data")
        if version >= "2013-10-17":
            paths.add(f"openstack/{version}/vendor_data.json")
        if version >= "2015-10-15":
            paths.add(f"openstack/{version}/network_data.json")
        if version >= "2016-10-06":
            paths.add(f"openstack/{version}/vendor_data2.json")
    return paths


def test_config_drive_layout_without_user_data() -> None:
    files = config_drive_files(make_source())
    assert set(files) == expected_drive_paths(with_user_data=False)
    # The password is for the metadata service only.
    assert not any(path.endswith("password") for path in files)


def test_config_drive_layout_with_user_data() -> None:
    files = config_drive_files(make_source(user_data=BINARY_USER_DATA))
    assert set(files) == expected_drive_paths(with_user_data=True)
    assert files["openstack/latest/user_data"] == BINARY_USER_DATA
    assert files["ec2/latest/user-data"] == BINARY_USER_DATA


def test_config_drive_meta_data_carries_admin_pass() -> None:
    files = config_drive_files(make_source(admin_pass="Pa55"))
    latest = json.loads(files["openstack/latest/meta_data.json"])
    assert latest["uuid"] == UUID
    assert latest["admin_pass"] == "Pa55"
    assert "keys" not in json.loads(files["openstack/2013-10-17/meta_data.json"])


def test_config_drive_ec2_meta_data_json() -> None:
    data = json.loads(config_drive_files(make_source())["ec2/latest/meta-data.json"])
    assert data["instance-id"] == "i-0000002a"
    assert data["ami-launch-index"] == 0
    assert data["security-groups"] == ["default", "web"]
    assert data["placement"] == {"availability-zone": "nova"}
    # As on Nova's drives: the key under "0", with the listing name beside it.
    assert data["public-keys"]["0"]["_name"] == "0=mykey"
    assert data["public-keys"]["0"]["openssh-key"].startswith("ssh-ed25519 ")


def test_config_drive_network_data_matches_the_service() -> None:
    source = make_source()
    files = config_drive_files(source)
    served = resolve(source, "/openstack/latest/network_data.json").body
    assert files["openstack/latest/network_data.json"] == served
    assert json.loads(files["openstack/2015-10-15/network_data.json"])["links"]
