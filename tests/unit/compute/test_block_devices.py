"""block_device_mapping(_v2) in a server-create body, as Nova's API reads it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from stackling.common import errors
from stackling.common.microversion import Version
from stackling.compute.service import block_devices

MV = Version(2, 90)
VOL = str(uuid.uuid4())
IMG = str(uuid.uuid4())


def _parse(server: dict[str, Any], mv: Version = MV) -> list[block_devices.BdmRequest]:
    return block_devices.parse(server, mv)


def test_boot_from_an_existing_volume() -> None:
    found = _parse(
        {"block_device_mapping_v2": [
            {"uuid": VOL, "source_type": "volume", "destination_type": "volume",
             "boot_index": 0, "delete_on_termination": True},
        ]}
    )  # fmt: skip
    assert len(found) == 1
    assert found[0].is_root and found[0].uuid == VOL and found[0].delete_on_termination


def test_boot_from_an_image_made_into_a_volume_needs_a_size() -> None:
    bdm = {"uuid": IMG, "source_type": "image", "destination_type": "volume", "boot_index": 0}
    with pytest.raises(errors.BadRequest, match="non-zero size"):
        _parse({"block_device_mapping_v2": [bdm]})
    found = _parse({"block_device_mapping_v2": [{**bdm, "volume_size": 1}]})
    assert found[0].source_type == "image" and found[0].volume_size == 1


def test_a_local_image_mapping_is_the_plain_image_boot() -> None:
    found = _parse(
        {"block_device_mapping_v2": [
            {"uuid": IMG, "source_type": "image", "destination_type": "local", "boot_index": 0},
            {"uuid": VOL, "source_type": "volume", "destination_type": "volume",
             "boot_index": 1},
        ]}
    )  # fmt: skip
    assert [b.uuid for b in found] == [VOL]
    assert not found[0].is_root


@pytest.mark.parametrize(
    "bdm",
    [
        {"source_type": "volume", "destination_type": "volume", "boot_index": 0},
        {"uuid": "nope", "source_type": "volume", "boot_index": 0},
        {"uuid": VOL, "source_type": "floppy", "boot_index": 0},
        {"uuid": VOL, "source_type": "volume", "destination_type": "cloud"},
        {"uuid": VOL, "source_type": "volume", "boot_index": "first"},
        {"uuid": VOL, "source_type": "volume", "volume_size": -1},
        {"uuid": VOL, "source_type": "volume", "unexpected": 1},
        {"uuid": VOL, "source_type": "volume", "destination_type": "local"},
    ],
)
def test_bad_mappings_are_400(bdm: dict[str, Any]) -> None:
    with pytest.raises(errors.BadRequest):
        _parse({"block_device_mapping_v2": [bdm]})


def test_boot_order_must_have_no_gaps() -> None:
    with pytest.raises(errors.BadRequest, match="Boot sequence"):
        _parse(
            {"block_device_mapping_v2": [
                {"uuid": VOL, "source_type": "volume", "boot_index": 1},
            ]}
        )  # fmt: skip


def test_tag_needs_2_42() -> None:
    bdm = {"uuid": VOL, "source_type": "volume", "boot_index": 0, "tag": "root"}
    with pytest.raises(errors.BadRequest):
        _parse({"block_device_mapping_v2": [bdm]}, Version(2, 41))
    assert _parse({"block_device_mapping_v2": [bdm]})[0].tag == "root"


def test_legacy_mapping_of_a_volume_on_vda_is_the_root() -> None:
    found = _parse({"block_device_mapping": [{"device_name": "vda", "volume_id": VOL}]})
    assert found[0].is_root and found[0].source_type == "volume"
    with pytest.raises(errors.BadRequest, match="different block_device_mapping"):
        _parse({"block_device_mapping": [], "block_device_mapping_v2": []})
