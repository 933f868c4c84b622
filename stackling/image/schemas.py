"""Glance's JSON schemas (/v2/schemas/...) and the attribute rules they imply."""

from __future__ import annotations

from typing import Any

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
STATUSES = (
    "queued",
    "saving",
    "active",
    "killed",
    "deleted",
    "pending_delete",
    "deactivated",
    "uploading",
    "importing",
)
MEMBER_STATUSES = ("pending", "accepted", "rejected")

# Attributes the server computes; a client setting one gets 403.
READ_ONLY = frozenset(
    {
        "id",
        "status",
        "checksum",
        "os_hash_algo",
        "os_hash_value",
        "size",
        "virtual_size",
        "created_at",
        "updated_at",
        "direct_url",
        "self",
        "file",
        "schema",
        "stores",
        "locations",
    }
)
# Attributes Glance keeps for itself.
RESERVED = frozenset({"location", "deleted", "deleted_at"})
RESERVED_PREFIX = "os_glance"
# Core attributes a client may set (everything else is a free-form string property).
WRITABLE = frozenset(
    {
        "name",
        "visibility",
        "protected",
        "os_hidden",
        "min_disk",
        "min_ram",
        "disk_format",
        "container_format",
        "owner",
        "tags",
    }
)
CORE = READ_ONLY | WRITABLE
INT_MAX = 2**31 - 1

_DATE = {"type": "string", "format": "date-time"}


def _image_properties() -> dict[str, Any]:
    return {
        "id": {
            "type": "string",
            "description": "An identifier for the image",
            "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
            "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
        },
        "name": {
            "type": ["null", "string"],
            "description": "Descriptive name for the image",
            "maxLength": 255,
        },
        "status": {
            "type": "string",
            "readOnly": True,
            "description": "Status of the image",
            "enum": list(STATUSES),
        },
        "visibility": {
            "type": "string",
            "description": "Scope of image accessibility",
            "enum": list(VISIBILITIES),
        },
        "protected": {
            "type": "boolean",
            "description": "If true, image will not be deletable.",
        },
        "os_hidden": {
            "type": "boolean",
            "description": "If true, image will not appear in default image list response.",
        },
        "checksum": {
            "type": ["null", "string"],
            "readOnly": True,
            "description": "md5 hash of image contents.",
            "maxLength": 32,
        },
        "os_hash_algo": {
            "type": ["null", "string"],
            "readOnly": True,
            "description": "Algorithm to calculate the os_hash_value",
            "maxLength": 64,
        },
        "os_hash_value": {
            "type": ["null", "string"],
            "readOnly": True,
            "description": "Hexdigest of the image contents using the algorithm in os_hash_algo.",
            "maxLength": 128,
        },
        "owner": {
            "type": ["null", "string"],
            "description": "Owner of the image",
            "maxLength": 255,
        },
        "size": {
            "type": ["null", "integer"],
            "readOnly": True,
            "description": "Size of image file in bytes",
        },
        "virtual_size": {
            "type": ["null", "integer"],
            "readOnly": True,
            "description": "Virtual size of image in bytes",
        },
        "container_format": {
            "type": ["null", "string"],
            "description": "Format of the container",
            "enum": [None, *CONTAINER_FORMATS],
        },
        "disk_format": {
            "type": ["null", "string"],
            "description": "Format of the disk",
            "enum": [None, *DISK_FORMATS],
        },
        "created_at": {
            **_DATE,
            "readOnly": True,
            "description": "Date and time of image registration",
        },
        "updated_at": {
            **_DATE,
            "readOnly": True,
            "description": "Date and time of the last image modification",
        },
        "tags": {
            "type": "array",
            "description": "List of strings related to the image",
            "items": {"type": "string", "maxLength": 255},
        },
        "direct_url": {
            "type": "string",
            "readOnly": True,
            "description": "URL to access the image file kept in external store",
        },
        "min_ram": {
            "type": "integer",
            "description": "Amount of ram (in MB) required to boot image.",
        },
        "min_disk": {
            "type": "integer",
            "description": "Amount of disk space (in GB) required to boot image.",
        },
        "self": {"type": "string", "readOnly": True, "description": "An image self url"},
        "file": {"type": "string", "readOnly": True, "description": "An image file url"},
        "stores": {
            "type": "string",
            "readOnly": True,
            "description": "Store in which image data resides.  Only present when the "
            "operator has enabled multiple stores.  May be a comma-separated list of "
            "store identifiers.",
        },
        "schema": {"type": "string", "readOnly": True, "description": "An image schema url"},
        "locations": {
            "type": "array",
            "description": "A set of URLs to access the image file kept in external store",
            "items": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "maxLength": 255},
                    "metadata": {"type": "object"},
                },
                "required": ["url", "metadata"],
            },
        },
        "kernel_id": {
            "type": ["null", "string"],
            "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
            "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
            "description": "ID of image stored in Glance that should be used as the "
            "kernel when booting an AMI-style image.",
            "is_base": False,
        },
        "ramdisk_id": {
            "type": ["null", "string"],
            "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
            "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
            "description": "ID of image stored in Glance that should be used as the "
            "ramdisk when booting an AMI-style image.",
            "is_base": False,
        },
        "os_distro": {
            "type": "string",
            "description": "Common name of operating system distribution",
            "is_base": False,
        },
        "os_version": {
            "type": "string",
            "description": "Operating system version as specified by the distributor",
            "is_base": False,
        },
        "architecture": {
            "type": "string",
            "description": "Operating system architecture",
            "is_base": False,
        },
        "instance_uuid": {
            "type": "string",
            "description": "Metadata which can be used to record which instance this "
            "image is associated with. (Informational only, does not create an instance "
            "snapshot.)",
            "is_base": False,
        },
    }


def image_schema() -> dict[str, Any]:
    """The schema of one image, /v2/schemas/image."""
    return {
        "name": "image",
        "properties": _image_properties(),
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def images_schema() -> dict[str, Any]:
    """The schema of an image list, /v2/schemas/images."""
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def member_schema() -> dict[str, Any]:
    """The schema of one image member, /v2/schemas/member."""
    return {
        "name": "member",
        "properties": {
            "created_at": {**_DATE, "description": "Date and time of image member creation"},
            "image_id": {
                "type": "string",
                "description": "An identifier for the image",
                "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$",
            },
            "member_id": {"type": "string", "description": "An identifier for the image member"},
            "status": {
                "type": "string",
                "description": "The status of this image member",
                "enum": list(MEMBER_STATUSES),
            },
            "updated_at": {**_DATE, "description": "Date and time of last modification"},
            "schema": {"type": "string", "readOnly": True},
        },
    }


def members_schema() -> dict[str, Any]:
    """The schema of a member list, /v2/schemas/members."""
    return {
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": member_schema()},
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }


def task_schema() -> dict[str, Any]:
    """The schema of one task, /v2/schemas/task."""
    return {
        "name": "task",
        "properties": {
            "id": {"type": "string", "description": "An identifier for the task"},
            "type": {"type": "string", "enum": ["import", "api_image_import"]},
            "status": {
                "type": "string",
                "enum": ["pending", "processing", "success", "failure"],
            },
            "input": {"type": ["null", "object"]},
            "result": {"type": ["null", "object"]},
            "owner": {"type": "string"},
            "message": {"type": "string"},
            "image_id": {"type": "string"},
            "request_id": {"type": "string"},
            "user_id": {"type": "string"},
            "expires_at": {"type": ["null", "string"], "format": "date-time"},
            "created_at": _DATE,
            "updated_at": _DATE,
            "self": {"type": "string"},
            "schema": {"type": "string"},
        },
    }


def tasks_schema() -> dict[str, Any]:
    """The schema of a task list, /v2/schemas/tasks."""
    return {
        "name": "tasks",
        "properties": {
            "tasks": {"type": "array", "items": task_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
    }


SCHEMAS = {
    "image": image_schema,
    "images": images_schema,
    "member": member_schema,
    "members": members_schema,
    "task": task_schema,
    "tasks": tasks_schema,
}
