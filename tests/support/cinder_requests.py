"""What Cinder's API reference documents of its requests, as OpenAPI fragments for the fuzzer.

The volume routes read raw JSON bodies, so FastAPI's document has no request
bodies or list filters for them. These describe the main ones: POST and PUT of
volumes, every volume action on its own (`volume_actions`), snapshots and their
metadata, types with their extra specs and access, QoS specs, quota sets and
classes, attachments, backups and their restore, transfers and their accept;
the list query strings of volumes, snapshots, backups and the smaller lists.
Schemas take the real ids of the run (`ids`) where a valid request must name a
real resource, and each body has a valid example (sent first, at every
microversion).
"""

from __future__ import annotations

from typing import Any

from tests.support.fuzz import json_body, query

V3 = "/volume/v3"
VOL = f"{V3}/volumes/{{volume_id}}"
SNAP = f"{V3}/snapshots/{{snapshot_id}}"
TYPE = f"{V3}/types/{{type_id}}"
QOS = f"{V3}/qos-specs/{{qos_id}}"
ATT = f"{V3}/attachments/{{attachment_id}}"
BACKUP = f"{V3}/backups/{{backup_id}}"
TRANSFERS = (f"{V3}/os-volume-transfer", f"{V3}/volume-transfers")

_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_NULL = {"type": "null"}
_UUID = {"type": "string", "format": "uuid"}
# What Cinder takes for a name or a description (the schema's limit is 255).
_TEXT = {"type": ["string", "null"], "maxLength": 255}
_NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,40}$"}
_METADATA = {
    "type": "object",
    "additionalProperties": {"type": "string", "maxLength": 255},
    "maxProperties": 4,
}
# Cinder's booleans: JSON ones, or the strings its strutils reads as one (or not).
_BOOLISH = {"anyOf": [_BOOL, {"type": "string", "enum": ["true", "False", "1", "no", "", "maybe"]}]}
_TRUTHY = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "", "maybe"]}
# Values that answer 500 when a parser forgets them: strings that only look like integers,
# integers no database column holds.
_NOT_INTEGERS = {"type": "string", "enum": ["²", "--1", "9" * 5000, " 2 ", "9" * 30, "-1"]}
_HUGE = {"type": "integer", "enum": [2**31, 2**63, 10**30]}
_VOLUME_STATES = [
    "available", "error", "in-use", "creating", "deleting", "attaching", "detaching",
    "maintenance", "error_deleting", "reserved", "awaiting-transfer", "asleep",
]  # fmt: skip
_SNAPSHOT_STATES = ["available", "error", "creating", "deleting", "error_deleting", "asleep"]
_BACKUP_STATES = ["available", "error", "creating", "restoring", "deleting", "asleep"]
_CONNECTOR = {
    "type": "object",
    "properties": {
        "initiator": {"type": "string", "enum": ["iqn.1993-08.org.debian:01:fuzz", ""]},
        "host": _STR,
        "ip": {"type": "string", "format": "ipv4"},
        "platform": {"type": "string", "enum": ["x86_64", "aarch64"]},
        "os_type": {"type": "string", "enum": ["linux2", "win32"]},
        "multipath": _BOOL,
        "mountpoint": {"type": "string", "enum": ["/dev/vdb", "/dev/sdz"]},
        "mode": {"type": "string", "enum": ["rw", "ro", "wo"]},
    },
    "maxProperties": 5,
}
# A well-formed id that names nothing.
_NO_UUID = "7b3a0e2f-0000-4000-8000-000000000000"
_CONNECTOR_EXAMPLE = {"initiator": "iqn.1993-08.org.debian:01:fuzz", "host": "fuzz-host"}


def _integer(minimum: int, maximum: int) -> dict[str, Any]:
    """An integer field: in range, or a string that only looks like one, or a huge one."""
    return {
        "anyOf": [
            {"type": "integer", "minimum": minimum, "maximum": maximum},
            _NOT_INTEGERS,
            _HUGE,
        ]
    }


def _obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    """An object of these properties only, as Cinder's schemas have them."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _ref(*valid: str) -> dict[str, Any]:
    """A reference to a real resource (invalid data names others)."""
    return {"type": "string", "enum": list(valid)}


def _wrap(key: str, inner: dict[str, Any]) -> dict[str, Any]:
    """{key: inner}, as every Cinder body is."""
    return _obj((key,), **{key: inner})


def _volume_create(ids: dict[str, str]) -> dict[str, Any]:
    volume = _obj(
        size=_integer(1, 3),
        name=_TEXT,
        description=_TEXT,
        display_name=_TEXT,
        display_description=_TEXT,
        metadata=_METADATA,
        volume_type={"anyOf": [_ref(ids["type_name"], ids["type"], "__DEFAULT__"), _NULL]},
        availability_zone=_ref("nova", "elsewhere"),
        multiattach=_BOOLISH,
        imageRef=_ref(ids["image"], f"http://glance.example/v2/images/{ids['image']}", ""),
        snapshot_id={"anyOf": [_ref(ids["snapshot"]), _NULL]},
        source_volid={"anyOf": [_ref(ids["volume"]), _NULL]},
        backup_id={"anyOf": [_UUID, _NULL]},
        group_id={"anyOf": [_UUID, _NULL]},
    )
    return _wrap("volume", volume)


def _snapshot_create(ids: dict[str, str]) -> dict[str, Any]:
    snapshot = _obj(
        ("volume_id",),
        volume_id=_ref(ids["volume"]),
        name=_TEXT,
        description=_TEXT,
        display_name=_TEXT,
        display_description=_TEXT,
        force=_BOOLISH,
        metadata=_METADATA,
    )
    return _wrap("snapshot", snapshot)


def _renamed(*extra: str) -> dict[str, Any]:
    """A PUT of name and description (and their v1 names), plus `extra` free-form keys."""
    names = ("name", "description", "display_name", "display_description")
    return _obj(**{n: _TEXT for n in names}, **{n: _METADATA for n in extra})


def _quota_set(key: str) -> dict[str, Any]:
    resources = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "groups",
                 "per_volume_gigabytes", "volumes_fuzz", "colour")  # fmt: skip
    limits = {name: _integer(-1, 100) for name in resources}
    return _wrap(key, _obj(**limits, tenant_id=_STR, id=_STR))


_SPEC_VALUE = {
    "anyOf": [
        {"type": "string", "maxLength": 255},
        {"type": "integer"},
        {"type": "number"},
        _BOOL,
        _NULL,
    ]
}
_SPECS = {"type": "object", "additionalProperties": _SPEC_VALUE, "maxProperties": 4}


def _type_bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    create = _wrap(
        "volume_type",
        _obj(
            ("name",),
            name={"anyOf": [_NAME, {"type": "string", "enum": ["", "   ", "x" * 256]}]},
            description=_TEXT,
            is_public=_BOOLISH,
            extra_specs=_SPECS,
            **{"os-volume-type-access:is_public": _BOOLISH},
        ),
    )
    update = _wrap("volume_type", _obj(name=_NAME, description=_TEXT, is_public=_BOOLISH))
    project = _obj(("project",), project=_ref(ids["project"], ids["admin_project"]))
    access = {
        "oneOf": [
            _obj(("addProjectAccess",), addProjectAccess=project),
            _obj(("removeProjectAccess",), removeProjectAccess=project),
        ]
    }
    spec = {ids["spec_key"]: "2"}
    return {
        ("post", f"{V3}/types"): json_body(
            create,
            example={"volume_type": {"name": "fuzz-new-type", "extra_specs": {"k": "v"}}},
        ),
        ("put", TYPE): json_body(update, example={"volume_type": {"description": "described"}}),
        ("post", f"{TYPE}/extra_specs"): json_body(
            _wrap("extra_specs", _SPECS), example={"extra_specs": {"volume_backend_name": "x"}}
        ),
        ("put", f"{TYPE}/extra_specs/{{key}}"): json_body(_SPECS, example=spec),
        ("post", f"{TYPE}/action"): json_body(
            access, example={"addProjectAccess": {"project": ids["project"]}}
        ),
    }


def _qos_bodies() -> dict[tuple[str, str], dict[str, Any]]:
    spec = {"type": "string", "maxLength": 64}
    create = _wrap(
        "qos_specs",
        {
            "type": "object",
            "properties": {
                "name": {"anyOf": [_NAME, {"type": "string", "enum": ["", " "]}]},
                "consumer": {"type": "string", "enum": ["front-end", "back-end", "both", "x"]},
            },
            "required": ["name"],
            "additionalProperties": spec,
            "maxProperties": 5,
        },
    )
    update = _wrap(
        "qos_specs", {"type": "object", "additionalProperties": spec, "maxProperties": 4}
    )
    keys = _obj(("keys",), keys={"type": "array", "items": _STR, "maxItems": 3})
    return {
        ("post", f"{V3}/qos-specs"): json_body(
            create, example={"qos_specs": {"name": "fuzz-new-qos", "read_iops_sec": "100"}}
        ),
        ("put", QOS): json_body(update, example={"qos_specs": {"write_iops_sec": "200"}}),
        ("put", f"{QOS}/delete_keys"): json_body(keys, example={"keys": ["read_iops_sec"]}),
    }


def _attachment_bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    create = _wrap(
        "attachment",
        _obj(
            ("volume_uuid",),
            volume_uuid=_ref(ids["spare_volume"]),
            instance_uuid={"anyOf": [_UUID, _NULL]},
            connector={"anyOf": [_CONNECTOR, _NULL]},
            mode={"type": "string", "enum": ["rw", "ro", "wo"]},
        ),
    )
    update = _wrap("attachment", _obj(("connector",), connector=_CONNECTOR))
    complete = {"oneOf": [_obj(("os-complete",), **{"os-complete": {"anyOf": [_NULL, _obj()]}})]}
    instance = "7b3a0e2f-2a8d-4b2e-9d43-3f1f0c9c3a11"
    return {
        ("post", f"{V3}/attachments"): json_body(
            create,
            example={
                "attachment": {
                    "volume_uuid": ids["spare_volume"],
                    "instance_uuid": instance,
                    "connector": _CONNECTOR_EXAMPLE,
                }
            },
        ),
        ("put", ATT): json_body(update, example={"attachment": {"connector": _CONNECTOR_EXAMPLE}}),
        ("post", f"{ATT}/action"): json_body(complete, example={"os-complete": None}),
    }


def _backup_bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    container = {"type": "string", "enum": ["volumebackups", "fuzz", "../up", "a/b", ".hidden", ""]}
    create = _wrap(
        "backup",
        _obj(
            ("volume_id",),
            volume_id=_ref(ids["volume"]),
            container={"anyOf": [container, _NULL]},
            name=_TEXT,
            description=_TEXT,
            incremental=_BOOLISH,
            force=_BOOLISH,
            snapshot_id={"anyOf": [_ref(ids["snapshot"]), _NULL]},
            metadata=_METADATA,
        ),
    )
    update = _wrap("backup", _obj(name=_TEXT, description=_TEXT, metadata=_METADATA))
    restore = _wrap(
        "restore",
        _obj(
            volume_id={"anyOf": [_ref(ids["restore_volume"]), _NULL]},
            name=_TEXT,
        ),
    )
    action = {
        "oneOf": [
            _obj(("os-reset_status",),
                 **{"os-reset_status": _obj(("status",), status=_ref(*_BACKUP_STATES))}),
            _obj(("os-force_delete",), **{"os-force_delete": {"anyOf": [_NULL, _obj()]}}),
        ]
    }  # fmt: skip
    record_keys = ("backup_service", "backup_url")
    record = _wrap(
        "backup-record",
        _obj(
            record_keys,
            backup_service=_ref(ids["backup_service"], "x"),
            backup_url=_ref(ids["backup_url"], "", "eyJ9"),
        ),
    )
    return {
        ("post", f"{V3}/backups"): json_body(
            create, example={"backup": {"volume_id": ids["volume"], "name": "fuzz-backup"}}
        ),
        ("put", BACKUP): json_body(update, example={"backup": {"name": "renamed"}}),
        ("post", f"{BACKUP}/restore"): json_body(
            restore, example={"restore": {"volume_id": ids["restore_volume"]}}
        ),
        ("post", f"{V3}/backups/import_record"): json_body(
            record, example={"backup-record": {key: ids[key] for key in record_keys}}
        ),
        ("post", f"{BACKUP}/action"): json_body(
            action, example={"os-reset_status": {"status": "available"}}
        ),
    }


def _service_change(ids: dict[str, str]) -> dict[str, Any]:
    """PUT /os-services/{enable,disable,disable-log-reason,freeze,thaw}."""
    binaries = {"type": "string", "enum": ["cinder-volume", "cinder-scheduler", "cinder-backup"]}
    return _obj(
        host=_ref(ids["host"], ids["host"].split("@")[0], "elsewhere"),
        binary=binaries,
        service=binaries,
        disabled_reason={"anyOf": [_TEXT, _INT]},
    )


def _transfer_bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    create = _wrap(
        "transfer",
        _obj(
            ("volume_id",),
            volume_id=_ref(ids["spare_volume"]),
            name=_TEXT,
            no_snapshots=_BOOLISH,
        ),
    )
    accept = _wrap("accept", _obj(("auth_key",), auth_key=_ref(ids["auth_key"])))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in TRANSFERS:
        out[("post", path)] = json_body(
            create, example={"transfer": {"volume_id": ids["spare_volume"], "name": "fuzz"}}
        )
        out[("post", f"{path}/{{transfer_id}}/accept")] = json_body(
            accept, example={"accept": {"auth_key": ids["auth_key"]}}
        )
    return out


def bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) -> the request body Cinder's API reference gives that operation."""
    meta = _wrap("metadata", _METADATA)
    snapshot_action = {
        "oneOf": [
            _obj(("os-reset_status",),
                 **{"os-reset_status": _obj(("status",), status=_ref(*_SNAPSHOT_STATES))}),
            _obj(("os-force_delete",), **{"os-force_delete": {"anyOf": [_NULL, _obj()]}}),
        ]
    }  # fmt: skip
    return {
        ("post", f"{V3}/volumes"): json_body(
            _volume_create(ids), example={"volume": {"size": 1, "name": "fuzz-new"}}
        ),
        ("put", VOL): json_body(
            _wrap("volume", _renamed("metadata")), example={"volume": {"name": "renamed"}}
        ),
        ("post", f"{VOL}/metadata"): json_body(meta, example={"metadata": {"a": "1"}}),
        ("put", f"{VOL}/metadata"): json_body(meta, example={"metadata": {"a": "1"}}),
        ("put", f"{VOL}/metadata/{{key}}"): json_body(
            _wrap("meta", _METADATA), example={"meta": {ids["meta_key"]: "v2"}}
        ),
        ("put", f"{V3}/os-services/{{action}}"): json_body(
            _service_change(ids), example={"host": ids["host"], "binary": "cinder-volume"}
        ),
        ("post", f"{V3}/snapshots"): json_body(
            _snapshot_create(ids),
            example={"snapshot": {"volume_id": ids["volume"], "name": "fuzz-snap"}},
        ),
        ("put", SNAP): json_body(
            _wrap("snapshot", _renamed()), example={"snapshot": {"description": "described"}}
        ),
        ("post", f"{SNAP}/action"): json_body(
            snapshot_action, example={"os-reset_status": {"status": "available"}}
        ),
        ("post", f"{SNAP}/metadata"): json_body(meta, example={"metadata": {"a": "1"}}),
        ("put", f"{SNAP}/metadata"): json_body(meta, example={"metadata": {"a": "1"}}),
        ("put", f"{SNAP}/metadata/{{key}}"): json_body(
            _wrap("meta", _METADATA), example={"meta": {ids["meta_key"]: "v2"}}
        ),
        ("put", f"{V3}/os-quota-sets/{{target_project}}"): json_body(
            _quota_set("quota_set"), example={"quota_set": {"volumes": 20, "gigabytes": -1}}
        ),
        ("put", f"{V3}/os-quota-class-sets/{{class_name}}"): json_body(
            _quota_set("quota_class_set"), example={"quota_class_set": {"snapshots": 20}}
        ),
        **_type_bodies(ids),
        **_qos_bodies(),
        **_attachment_bodies(ids),
        **_backup_bodies(ids),
        **_transfer_bodies(ids),
    }


def volume_actions(ids: dict[str, str]) -> dict[str, tuple[dict[str, Any], Any]]:
    """Action name -> (its body's schema, a valid body), as volume actions are documented."""
    nothing = {"anyOf": [_NULL, _obj()]}
    upload = _obj(
        ("image_name",),
        image_name={"anyOf": [_NAME, {"type": "string", "enum": ["", "x" * 256]}]},
        force=_BOOLISH,
        disk_format={"type": "string", "enum": ["raw", "qcow2", "vmdk", "vdi", "ploop", "iso"]},
        container_format={"type": "string", "enum": ["bare", "ovf", "docker"]},
        visibility={"type": "string", "enum": ["public", "private", "shared", "community", "x"]},
        protected=_BOOLISH,
    )
    attach = _obj(
        instance_uuid={"anyOf": [_UUID, _NULL]},
        host_name={"anyOf": [_STR, _NULL]},
        mountpoint={"type": "string", "enum": ["/dev/vdb", "/dev/sdz", ""]},
        mode={"type": "string", "enum": ["rw", "ro", "wo"]},
    )
    connector = _obj(("connector",), connector=_CONNECTOR)
    bodies: dict[str, tuple[dict[str, Any], Any]] = {
        "os-extend": (_obj(("new_size",), new_size=_integer(1, 4)), {"new_size": 2}),
        "os-reset_status": (
            _obj(
                ("status",),
                status=_ref(*_VOLUME_STATES),
                attach_status={"type": "string", "enum": ["attached", "detached", "x"]},
                migration_status={"anyOf": [_NULL, _ref("migrating", "error", "none")]},
            ),
            {"status": "error"},
        ),
        "os-force_delete": (nothing, {}),
        "os-set_bootable": (_obj(("bootable",), bootable=_BOOLISH), {"bootable": True}),
        "os-update_readonly_flag": (_obj(("readonly",), readonly=_BOOLISH), {"readonly": True}),
        "os-reserve": (nothing, None),
        "os-unreserve": (nothing, None),
        "os-attach": (
            attach,
            {"instance_uuid": "7b3a0e2f-2a8d-4b2e-9d43-3f1f0c9c3a11", "mountpoint": "/dev/vdb"},
        ),
        "os-begin_detaching": (nothing, None),
        "os-roll_detaching": (nothing, None),
        "os-detach": (
            _obj(attachment_id={"anyOf": [_ref(ids["volume_attachment"], _NO_UUID), _NULL]}),
            {"attachment_id": ids["volume_attachment"]},
        ),
        "os-initialize_connection": (connector, {"connector": _CONNECTOR_EXAMPLE}),
        "os-terminate_connection": (connector, {"connector": _CONNECTOR_EXAMPLE}),
        "os-volume_upload_image": (upload, {"image_name": "fuzz-upload", "disk_format": "raw"}),
        "os-show_image_metadata": (nothing, None),
        "os-set_image_metadata": (_wrap("metadata", _METADATA), {"metadata": {"fuzz": "v"}}),
        "os-unset_image_metadata": (
            _obj(("key",), key=_ref(ids["meta_key"], "fuzz-absent")),
            {"key": ids["meta_key"]},
        ),
        "revert": (
            _obj(("snapshot_id",), snapshot_id=_ref(ids["volume_snapshot"])),
            {"snapshot_id": ids["volume_snapshot"]},
        ),
    }
    return {
        name: (_obj((name,), **{name: schema}), {name: example})
        for name, (schema, example) in bodies.items()
    }


def _listing(ids: dict[str, str], sort_keys: list[str], filters: dict[str, Any]) -> list[Any]:
    """Cinder's common list query: paging, sorting, counting, the admin's scope, filters."""
    sorts = [*sort_keys, "colour"]
    return query(
        limit={"anyOf": [_INT, _NOT_INTEGERS, _HUGE]},
        offset={"anyOf": [_INT, _NOT_INTEGERS, _HUGE]},
        marker=_ref(*dict.fromkeys(ids.values())),
        sort={"type": "string", "enum": [*sorts, "name:asc,id:desc", "size:sideways", ":", ","]},
        sort_key={"type": "string", "enum": sorts},
        sort_dir={"type": "string", "enum": ["asc", "desc", "sideways"]},
        with_count=_TRUTHY,
        all_tenants=_TRUTHY,
        project_id=_ref(ids["admin_project"], ids["project"], ""),
        colour=_STR,
        **filters,
    )


def queries(ids: dict[str, str]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(method, path) -> the query string the API reference gives that operation."""
    metadata = {
        "type": "string",
        "enum": ["{'fuzz': 'v'}", '{"a": "1"}', "{[1]: 2}", "[1]", "{", "{'a': {1, 2}}",
                 "(" * 200 + ")" * 200, "{" * 200 + "}" * 200, "1e999999"],
    }  # fmt: skip
    status = _ref("available", "in-use", "error", "asleep")
    volumes = _listing(
        ids,
        ["id", "name", "display_name", "status", "size", "availability_zone", "bootable",
         "created_at", "updated_at", "project_id"],
        {"name": _STR, "status": status, "metadata": metadata, "bootable": _TRUTHY,
         "availability_zone": _ref("nova", "elsewhere"),
         "size": {"anyOf": [_INT, _NOT_INTEGERS, _HUGE]}},
    )  # fmt: skip
    snapshots = _listing(
        ids,
        ["id", "name", "display_name", "status", "size", "volume_id", "created_at",
         "updated_at", "project_id"],
        {"name": _STR, "display_name": _STR, "status": status, "metadata": metadata,
         "volume_id": _ref(ids["volume"])},
    )  # fmt: skip
    backups = _listing(
        ids,
        ["id", "name", "display_name", "status", "size", "volume_id", "container",
         "created_at", "updated_at", "data_timestamp", "project_id"],
        {"name": _STR, "display_name": _STR, "status": status, "volume_id": _ref(ids["volume"])},
    )  # fmt: skip
    attachments = query(
        all_tenants=_TRUTHY,
        volume_id=_ref(ids["volume"]),
        instance_id=_UUID,
        status={"type": "string", "enum": ["attached", "reserved", "detached", "x"]},
    )
    transfers = query(all_tenants=_TRUTHY)
    # Cinder requires the type of an association (400 without).
    associate = [{**param, "required": True} for param in query(vol_type_id=_ref(ids["type"]))]
    out: dict[tuple[str, str], list[dict[str, Any]]] = {
        ("get", f"{V3}/volumes"): volumes,
        ("get", f"{V3}/volumes/detail"): volumes,
        ("get", f"{V3}/volumes/summary"): query(all_tenants=_TRUTHY),
        ("delete", VOL): query(cascade=_TRUTHY),
        ("get", f"{V3}/snapshots"): snapshots,
        ("get", f"{V3}/snapshots/detail"): snapshots,
        ("get", f"{V3}/backups"): backups,
        ("get", f"{V3}/backups/detail"): backups,
        ("get", f"{V3}/attachments"): attachments,
        ("get", f"{V3}/attachments/detail"): attachments,
        ("get", f"{V3}/types"): query(is_public=_TRUTHY),
        ("delete", QOS): query(force=_TRUTHY),
        ("get", f"{QOS}/associate"): associate,
        ("get", f"{QOS}/disassociate"): associate,
        ("get", f"{V3}/os-quota-sets/{{target_project}}"): query(usage=_TRUTHY),
        ("get", f"{V3}/os-services"): query(host=_ref(ids["host"]), binary=_STR),
        ("get", f"{V3}/scheduler-stats/get_pools"): query(detail=_TRUTHY),
    }
    for path in TRANSFERS:
        out[("get", path)] = transfers
        out[("get", f"{path}/detail")] = transfers
    return out
