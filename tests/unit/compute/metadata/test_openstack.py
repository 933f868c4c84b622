"""The OpenStack tree: meta_data.json per version, listings, vendor data, user data."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from stackling.compute.metadata.source import DeviceInfo, KeyPair
from stackling.compute.metadata.tree import APPLICATION_JSON, Kind, resolve
from tests.unit.compute.metadata.sources import (
    BINARY_USER_DATA,
    PROJECT,
    PUBLIC_KEY,
    UUID,
    make_source,
)

BASE_KEYS = {"uuid", "meta", "public_keys", "hostname", "name", "launch_index", "availability_zone"}
SEED = {"random_seed"}
LIBERTY = {"keys", "project_id"}
NEWTON = {"devices"}
VICTORIA = {"dedicated_cpus"}

# What Nova's meta_data.json holds in each version (nova/api/metadata/base.py,
# doc/source/user/metadata.rst), for an instance with a key pair and metadata.
EXPECTED_KEYS = {
    "2012-08-10": BASE_KEYS,
    "2013-04-04": BASE_KEYS | SEED,
    "2013-10-17": BASE_KEYS | SEED,
    "2015-10-15": BASE_KEYS | SEED | LIBERTY,
    "2016-06-30": BASE_KEYS | SEED | LIBERTY | NEWTON,
    "2016-10-06": BASE_KEYS | SEED | LIBERTY | NEWTON,
    "2017-02-22": BASE_KEYS | SEED | LIBERTY | NEWTON,
    "2018-08-27": BASE_KEYS | SEED | LIBERTY | NEWTON,
    "2020-10-14": BASE_KEYS | SEED | LIBERTY | NEWTON | VICTORIA,
    "2025-04-04": BASE_KEYS | SEED | LIBERTY | NEWTON | VICTORIA,
    "latest": BASE_KEYS | SEED | LIBERTY | NEWTON | VICTORIA,
}

EXPECTED_LISTING = {
    "2012-08-10": ["meta_data.json"],
    "2013-04-04": ["meta_data.json", "password"],
    "2013-10-17": ["meta_data.json", "password", "vendor_data.json"],
    "2015-10-15": ["meta_data.json", "password", "vendor_data.json", "network_data.json"],
}
FULL_LISTING = [
    "meta_data.json",
    "password",
    "vendor_data.json",
    "network_data.json",
    "vendor_data2.json",
]


def md(version: str = "latest", **overrides: Any) -> dict[str, Any]:
    resolved = resolve(make_source(**overrides), f"/openstack/{version}/meta_data.json")
    assert resolved.kind is Kind.FILE
    assert resolved.content_type == APPLICATION_JSON
    return json.loads(resolved.body)


@pytest.mark.parametrize("version", sorted(EXPECTED_KEYS))
def test_meta_data_key_set_per_version(version: str) -> None:
    assert set(md(version)) == EXPECTED_KEYS[version]


def test_meta_data_values() -> None:
    data = md("latest")
    assert data["uuid"] == UUID
    assert data["name"] == "web-1"
    assert data["hostname"] == "web-1.novalocal"
    assert data["launch_index"] == 0
    assert data["availability_zone"] == "nova"
    assert data["project_id"] == PROJECT
    assert data["meta"] == {"role": "webserver", "priority": "low"}
    assert data["public_keys"] == {"mykey": PUBLIC_KEY}
    assert data["keys"] == [{"name": "mykey", "type": "ssh", "data": PUBLIC_KEY}]
    assert data["devices"] == []
    assert data["dedicated_cpus"] == []


def test_random_seed_is_512_fresh_bytes_per_read() -> None:
    first, second = md()["random_seed"], md()["random_seed"]
    assert len(base64.b64decode(first, validate=True)) == 512
    assert first != second


def test_no_key_pair_and_no_metadata_leave_their_keys_out() -> None:
    data = md(key_pairs=(), metadata={})
    assert not {"public_keys", "keys", "meta"} & set(data)


def test_every_key_pair_is_shown() -> None:
    pairs = (KeyPair("a", "ssh", "ssh-rsa AAAA a"), KeyPair("b", "x509", "-----BEGIN CERT"))
    data = md(key_pairs=pairs)
    assert data["public_keys"] == {"a": "ssh-rsa AAAA a", "b": "-----BEGIN CERT"}
    assert [k["type"] for k in data["keys"]] == ["ssh", "x509"]


def test_admin_pass_only_on_a_config_drive() -> None:
    source = make_source(admin_pass="s3cr3t-Pa55")
    served = json.loads(resolve(source, "/openstack/latest/meta_data.json").body)
    drive = json.loads(resolve(source, "/openstack/latest/meta_data.json", config_drive=True).body)
    assert "admin_pass" not in served
    assert drive["admin_pass"] == "s3cr3t-Pa55"


def test_dedicated_cpus_sorted() -> None:
    assert md(dedicated_cpus=(5, 1, 3))["dedicated_cpus"] == [1, 3, 5]


NIC = DeviceInfo(
    type="nic", bus="pci", address="0000:00:02.0", mac="00:11:22:33:44:55", tags=("trusted",)
)
DISK = DeviceInfo(
    type="disk", bus="ide", address="0:0", serial="disk-vol-2352423", path="/dev/sda", tags=("baz",)
)


def test_devices_as_nova_documents_them() -> None:
    devices = md("2016-06-30", devices=(NIC, DISK))["devices"]
    assert devices == [
        {
            "type": "nic",
            "bus": "pci",
            "address": "0000:00:02.0",
            "mac": "00:11:22:33:44:55",
            "tags": ["trusted"],
        },
        {
            "type": "disk",
            "bus": "ide",
            "address": "0:0",
            "serial": "disk-vol-2352423",
            "path": "/dev/sda",
            "tags": ["baz"],
        },
    ]


def test_nic_vlan_from_ocata_and_vf_trusted_from_rocky() -> None:
    nic = DeviceInfo(type="nic", bus="pci", address="0000:00:03.0", mac="aa:bb", vlan=100)
    assert md("2016-10-06", devices=(nic,))["devices"] == []
    assert md("2017-02-22", devices=(nic,))["devices"][0]["vlan"] == 100
    assert "vf_trusted" not in md("2017-02-22", devices=(nic,))["devices"][0]
    rocky = md("2018-08-27", devices=(nic,))["devices"][0]
    assert rocky["vf_trusted"] is False and rocky["vlan"] == 100


def test_unknown_device_kinds_and_buses_are_left_out() -> None:
    odd_bus = DeviceInfo(type="disk", bus="virtio-mmio", serial="x")
    odd_type = DeviceInfo(type="gpu", bus="pci")
    assert md(devices=(odd_bus, odd_type))["devices"] == []


@pytest.mark.parametrize("version", sorted(EXPECTED_LISTING))
def test_version_listing_early_versions(version: str) -> None:
    resolved = resolve(make_source(), f"/openstack/{version}")
    assert resolved.kind is Kind.LISTING
    assert resolved.body.decode().split("\n") == EXPECTED_LISTING[version]


@pytest.mark.parametrize("version", ["2016-10-06", "2020-10-14", "latest"])
def test_version_listing_recent_versions(version: str) -> None:
    assert list(resolve(make_source(), f"/openstack/{version}/").entries) == FULL_LISTING


def test_listing_shows_user_data_only_when_there_is_some() -> None:
    entries = resolve(make_source(user_data=b"x"), "/openstack/latest").entries
    assert entries[:2] == ("meta_data.json", "user_data")


def test_openstack_versions_listing() -> None:
    resolved = resolve(make_source(), "/openstack")
    assert resolved.body.decode().split("\n") == [*sorted(EXPECTED_KEYS)[:-1], "latest"]


def test_user_data_absent_is_not_found() -> None:
    assert resolve(make_source(), "/openstack/latest/user_data").kind is Kind.NOT_FOUND


def test_binary_user_data_round_trips() -> None:
    resolved = resolve(make_source(user_data=BINARY_USER_DATA), "/openstack/2012-08-10/user_data")
    assert resolved.kind is Kind.FILE
    assert resolved.body == BINARY_USER_DATA


def test_vendor_data_files() -> None:
    plain = make_source()
    assert json.loads(resolve(plain, "/openstack/latest/vendor_data.json").body) == {}
    assert json.loads(resolve(plain, "/openstack/latest/vendor_data2.json").body) == {"static": {}}
    given = make_source(vendor_data={"a": 1}, dynamic_vendor_data={"dyn": {"b": 2}})
    assert json.loads(resolve(given, "/openstack/latest/vendor_data.json").body) == {"a": 1}
    assert json.loads(resolve(given, "/openstack/latest/vendor_data2.json").body) == {
        "static": {"a": 1},
        "dyn": {"b": 2},
    }


@pytest.mark.parametrize(
    "path",
    [
        "/openstack/2012-08-10/password",
        "/openstack/2012-08-10/vendor_data.json",
        "/openstack/2013-04-04/vendor_data.json",
        "/openstack/2015-10-15/vendor_data2.json",
        "/openstack/2016-06-30/vendor_data2.json",
        "/openstack/1999-01-01/meta_data.json",
        "/openstack/latest/meta_data.json/uuid",
        "/openstack/latest/nothing",
        "/openstack/content/0000",
    ],
)
def test_files_a_version_does_not_have_are_not_found(path: str) -> None:
    assert resolve(make_source(), path).kind is Kind.NOT_FOUND


def test_password_reads_empty_until_set() -> None:
    assert resolve(make_source(), "/openstack/latest/password").body == b""
    resolved = resolve(make_source(password="ZW5jcnlwdGVk"), "/openstack/2013-04-04/password")
    assert resolved.kind is Kind.PASSWORD
    assert resolved.body == b"ZW5jcnlwdGVk"
