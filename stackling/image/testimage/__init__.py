"""A tiny bootable test guest (like CirrOS) built only from Debian packages.

`ensure_test_image()` gives the cached qcow2, building it on first use; the image
service registers it under `TEST_IMAGE_NAME` with the constants below.
"""

from __future__ import annotations

from stackling.image.testimage.builder import (
    build_test_image,
    default_test_image_path,
    ensure_test_image,
)
from stackling.image.testimage.errors import TestImageBuildError

TEST_IMAGE_NAME = "cirros"
TEST_IMAGE_PROPERTIES: dict[str, str] = {"stackling_test_image": "true"}
TEST_IMAGE_DISK_FORMAT = "qcow2"
TEST_IMAGE_CONTAINER_FORMAT = "bare"
# Debian's cloud kernel alone needs ~52 MiB to decompress: 64 MiB reboots in a loop,
# 96 MiB boots; 128 MiB leaves room for user-data.
TEST_IMAGE_MIN_RAM_MB = 128
TEST_IMAGE_MIN_DISK_GB = 1
# The line the guest prints on its serial console once SSH is up, then " nic=ipv4"...
TEST_IMAGE_READY_MARKER = "STACKLING-GUEST-READY"

__all__ = [
    "TEST_IMAGE_CONTAINER_FORMAT",
    "TEST_IMAGE_DISK_FORMAT",
    "TEST_IMAGE_MIN_DISK_GB",
    "TEST_IMAGE_MIN_RAM_MB",
    "TEST_IMAGE_NAME",
    "TEST_IMAGE_PROPERTIES",
    "TEST_IMAGE_READY_MARKER",
    "TestImageBuildError",
    "build_test_image",
    "default_test_image_path",
    "ensure_test_image",
]
