"""The EC2 tree: meta-data keys per version and Nova's listing text."""

from __future__ import annotations

import pytest

from stackling.compute.metadata.source import KeyPair
from stackling.compute.metadata.tree import OCTET_STREAM, TEXT_PLAIN, Kind, resolve
from tests.unit.compute.metadata.sources import (
    BINARY_USER_DATA,
    DHCP_V4,
    PUBLIC_KEY,
    SLAAC_V6,
    make_source,
    vif,
)

V1 = {
    "ami-id",
    "ami-launch-index",
    "ami-manifest-path",
    "hostname",
    "instance-id",
    "local-ipv4",
    "public-keys/",
    "reservation-id",
    "security-groups",
}
HOSTNAMES = {"local-hostname", "public-hostname", "public-ipv4"}

# Nova's get_ec2_metadata: what each EC2 version adds to meta-data/.
EXPECTED_LISTING = {
    "1.0": V1,
    "2007-01-19": V1 | HOSTNAMES,
    "2007-03-01": V1 | HOSTNAMES,
    "2007-08-29": V1 | HOSTNAMES | {"instance-type"},
    "2007-10-10": V1 | HOSTNAMES | {"instance-type"},
    "2007-12-15": V1 | HOSTNAMES | {"instance-type", "block-device-mapping/"},
    "2008-02-01": V1 | HOSTNAMES | {"instance-type", "block-device-mapping/", "placement/"},
}
FULL = V1 | HOSTNAMES | {"instance-type", "block-device-mapping/", "placement/", "instance-action"}
EXPECTED_LISTING.update({"2008-09-01": FULL, "2009-04-04": FULL, "latest": FULL})


def get(path: str, **overrides: object) -> bytes:
    resolved = resolve(make_source(**overrides), path)
    assert resolved.found, path
    return resolved.body


def text(path: str, **overrides: object) -> str:
    return get(path, **overrides).decode()


@pytest.mark.parametrize("version", sorted(EXPECTED_LISTING))
def test_meta_data_listing_per_version(version: str) -> None:
    lines = text(f"/{version}/meta-data/").split("\n")
    assert lines == sorted(lines)
    assert set(lines) == EXPECTED_LISTING[version]


def test_root_lists_ec2_versions() -> None:
    expected = [*sorted(EXPECTED_LISTING)[:-1], "latest"]
    assert text("/").split("\n") == expected
    assert text("/ec2").split("\n") == expected


def test_version_lists_user_data_only_when_there_is_some() -> None:
    assert text("/2009-04-04") == "meta-data/"
    assert text("/2009-04-04/", user_data=b"x") == "meta-data/\nuser-data"


def test_values() -> None:
    source = {"vifs": (vif(DHCP_V4, SLAAC_V6),)}
    expected = {
        "ami-id": "ami-0000001f",
        "ami-launch-index": "0",
        "ami-manifest-path": "FIXME",
        "hostname": "web-1.novalocal",
        "instance-id": "i-0000002a",
        "instance-action": "none",
        "instance-type": "m1.small",
        "local-hostname": "web-1.novalocal",
        "local-ipv4": "10.0.0.5",
        "public-hostname": "web-1.novalocal",
        "public-ipv4": "172.24.4.10",
        "reservation-id": "r-3fh8qk2m",
        "security-groups": "default\nweb",
        "placement/availability-zone": "nova",
    }
    for name, value in expected.items():
        assert text(f"/latest/meta-data/{name}", **source) == value, name


def test_no_network_gives_empty_addresses() -> None:
    assert text("/latest/meta-data/local-ipv4", vifs=()) == ""
    assert text("/latest/meta-data/public-ipv4", vifs=()) == ""


def test_boot_from_volume_has_no_ami_id() -> None:
    # Nova prints its None as text.
    assert text("/latest/meta-data/ami-id", image_ec2_id=None) == "None"


def test_public_keys_listing_and_key() -> None:
    assert text("/latest/meta-data/public-keys/") == "0=mykey"
    assert text("/latest/meta-data/public-keys/0") == "openssh-key"
    assert text("/latest/meta-data/public-keys/0/openssh-key") == PUBLIC_KEY


def test_several_public_keys_are_numbered() -> None:
    pairs = (KeyPair("a", "ssh", "ssh-rsa A"), KeyPair("b", "ssh", "ssh-rsa B"))
    assert text("/latest/meta-data/public-keys", key_pairs=pairs) == "0=a\n1=b"
    assert text("/latest/meta-data/public-keys/1/openssh-key", key_pairs=pairs) == "ssh-rsa B"


def test_no_key_pair_no_public_keys() -> None:
    assert "public-keys/" not in text("/latest/meta-data/", key_pairs=()).split("\n")
    source = make_source(key_pairs=())
    assert resolve(source, "/latest/meta-data/public-keys").kind is Kind.NOT_FOUND


def test_block_device_mapping() -> None:
    assert text("/latest/meta-data/block-device-mapping/") == "ami\nroot"
    assert text("/latest/meta-data/block-device-mapping/ami") == "vda"
    assert text("/latest/meta-data/block-device-mapping/root") == "/dev/vda"
    full = {
        "ephemeral_device_names": ("/dev/vdb",),
        "swap_device_name": "/dev/vdc",
        "volume_device_names": ("/dev/vde", "/dev/vdd"),
    }
    assert text("/latest/meta-data/block-device-mapping/", **full).split("\n") == [
        "ami",
        "ebs0",
        "ebs1",
        "ephemeral0",
        "root",
        "swap",
    ]
    assert text("/latest/meta-data/block-device-mapping/ebs0", **full) == "/dev/vdd"


def test_unknown_root_device_gives_novas_defaults() -> None:
    listing = text("/latest/meta-data/block-device-mapping", root_device_name=None)
    assert listing == "ami\nephemeral0\nroot\nswap"


def test_user_data_is_bytes() -> None:
    resolved = resolve(make_source(user_data=BINARY_USER_DATA), "/2009-04-04/user-data")
    assert resolved.body == BINARY_USER_DATA
    assert resolved.content_type == OCTET_STREAM
    assert resolve(make_source(), "/2009-04-04/user-data").kind is Kind.NOT_FOUND


def test_values_and_listings_are_plain_text() -> None:
    source = make_source()
    assert resolve(source, "/latest/meta-data/hostname").content_type == TEXT_PLAIN
    assert resolve(source, "/latest/meta-data/").kind is Kind.LISTING


@pytest.mark.parametrize(
    "path",
    [
        "/2010-01-01/meta-data/",
        "/latest/meta-data/nothing",
        "/latest/meta-data/hostname/more",
        "/latest/meta-data/security-groups/default",
        "/latest/meta-data/public-keys/0/_name",
        "/latest/meta-data/public-keys/1",
    ],
)
def test_not_found(path: str) -> None:
    assert resolve(make_source(), path).kind is Kind.NOT_FOUND
