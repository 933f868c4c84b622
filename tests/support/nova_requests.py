"""What Nova's API reference documents of its requests, as OpenAPI fragments for the fuzzer.

The compute routes read raw JSON bodies, so FastAPI's document has no request
bodies or list filters for them. These describe the main ones: bodies of POST
/servers and of every server action, of server and image metadata, flavors, key
pairs, server groups, quotas, aggregates, services and external events; the list filters of servers,
flavors, key pairs, hypervisors, usage and migrations. Schemas take the real
ids of the run (`ids`) where a valid request must name a real resource, and
each body has a valid example (sent first, at every microversion).
"""

from __future__ import annotations

from typing import Any

from tests.support.fuzz import json_body, query

V21 = "/compute/v2.1"
S = f"{V21}/servers/{{server_id}}"
F = f"{V21}/flavors/{{flavor_id}}"
IMG = f"{V21}/images/{{image_id}}"

_STR = {"type": "string"}
# Printable, without leading or trailing blanks: what Nova takes for a name.
_NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._-]{0,40}$"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_UUID = {"type": "string", "format": "uuid"}
_IPV4 = {"type": "string", "format": "ipv4"}
_IPV6 = {"type": "string", "format": "ipv6"}
_NULL = {"type": "null"}
_DISK_CONFIG = {"type": "string", "enum": ["AUTO", "MANUAL"]}
_METADATA = {
    "type": "object",
    "additionalProperties": {"type": "string", "maxLength": 255},
    "maxProperties": 4,
}
_TAGS = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 60, "pattern": "^[^,/]*$"},
    "maxItems": 5,
}
_BASE64 = {"type": "string", "enum": ["IyEvYmluL3NoCmVjaG8gaGkK", "", "bm90IGJhc2U2NA", "***"]}
_SORT_DIR = {"type": "string", "enum": ["asc", "desc", "sideways"]}
_TRUTHY = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "", "maybe"]}

# Values that once made the API answer 500, offered to the fuzzer among the valid ones:
# strings that only look like integers, times with no UTC equivalent, patterns Python's
# re cannot compile. (Invalid data adds random strings to the enumerations.)
_NOT_INTEGERS = {"type": "string", "enum": ["²", "--1", "9" * 5000, " 2 "]}
_WHEN = {
    "type": "string",
    "enum": [
        "2020-01-01T00:00:00Z", "2020-01-01", "2020-01-01T00:00:00+01:00", "2020-01-01 00:00:00.5",
        "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "yesterday",
    ],
}  # fmt: skip
_PATTERN = {
    "type": "string",
    "enum": [
        "^fuzz",
        "fuzz-server",
        "",
        ".*",
        "192\\.0",
        "(" * 500 + ")" * 500,
        "a{9999999999}",
        "[",
    ],
}


def _integer(minimum: int, maximum: int) -> dict[str, Any]:
    """An integer field: in range, or a string that only looks like one (or a huge count)."""
    return {
        "anyOf": [
            {"type": "integer", "minimum": minimum, "maximum": maximum},
            _NOT_INTEGERS,
            {"type": "integer", "enum": [10**9]},
        ]
    }


def _obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    """An object of these properties only, as Nova's schemas have them."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _ref(*valid: str) -> dict[str, Any]:
    """A reference to a real resource (invalid data names others)."""
    return {"type": "string", "enum": list(valid)}


def _server_create(ids: dict[str, str]) -> dict[str, Any]:
    bdm = _obj(
        boot_index={"type": ["integer", "null"]},
        uuid=_ref(ids["image"]),
        source_type={"type": "string", "enum": ["image", "volume", "snapshot", "blank"]},
        destination_type={"type": "string", "enum": ["local", "volume"]},
        volume_size={"type": "integer", "minimum": 1},
        delete_on_termination=_BOOL,
        device_name=_STR,
        guest_format={"type": "string", "enum": ["ext4", "swap"]},
        disk_bus=_STR,
        device_type={"type": "string", "enum": ["disk", "cdrom"]},
        tag=_STR,
    )
    network = _obj(uuid=_UUID, port=_UUID, fixed_ip=_IPV4, tag=_STR)
    server = _obj(
        ("name", "imageRef", "flavorRef", "networks"),
        name=_NAME,
        imageRef=_ref(ids["image"]),
        flavorRef=_ref(ids["boot_flavor"], ids["flavor"]),
        networks={
            "anyOf": [
                {"type": "string", "enum": ["auto", "none"]},
                {"type": "array", "items": network, "maxItems": 2},
            ]
        },
        min_count=_integer(1, 2),
        max_count=_integer(1, 2),
        metadata=_METADATA,
        user_data=_BASE64,
        key_name=_ref(ids["keypair"]),
        availability_zone=_ref("nova", f"nova:{ids['host']}", ids["zone"]),
        block_device_mapping_v2={"type": "array", "items": bdm, "maxItems": 2},
        security_groups={"type": "array", "items": _obj(("name",), name=_NAME), "maxItems": 2},
        config_drive=_BOOL,
        description={"type": ["string", "null"], "maxLength": 255},
        tags=_TAGS,
        hostname={"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]{0,62}$"},
        adminPass=_STR,
        accessIPv4=_IPV4,
        accessIPv6=_IPV6,
        return_reservation_id=_BOOL,
        host=_ref(ids["host"]),
        hypervisor_hostname=_ref(ids["host"]),
        **{"OS-DCF:diskConfig": _DISK_CONFIG},
    )
    hints = _obj(
        group=_ref(ids["group"]),
        same_host={"type": "array", "items": _UUID, "maxItems": 1},
        different_host={"type": "array", "items": _UUID, "maxItems": 1},
        query=_STR,
        target_cell=_STR,
        build_near_host_ip=_IPV4,
        cidr=_STR,
    )
    return _obj(("server",), server=server, **{"os:scheduler_hints": hints})


def _server_create_example(ids: dict[str, str]) -> dict[str, Any]:
    return {
        "server": {
            "name": "fuzz-example",
            "imageRef": ids["image"],
            "flavorRef": ids["boot_flavor"],
            "networks": "none",
            "min_count": 1,
            "max_count": 2,
            "metadata": {"k": "v"},
            "user_data": "IyEvYmluL3NoCmVjaG8gaGkK",
            "key_name": ids["keypair"],
            "availability_zone": "nova",
            "security_groups": [{"name": "default"}],
            "config_drive": True,
            "description": "fuzzed",
            "tags": ["a", "b"],
            "hostname": "fuzz-example",
            "accessIPv4": "192.0.2.1",
            "accessIPv6": "2001:db8::1",
        },
        "os:scheduler_hints": {"group": ids["group"]},
    }


def _server_update() -> dict[str, Any]:
    server = _obj(
        name=_NAME,
        description={"type": ["string", "null"], "maxLength": 255},
        hostname={"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]{0,62}$"},
        accessIPv4=_IPV4,
        accessIPv6=_IPV6,
        **{"OS-DCF:diskConfig": _DISK_CONFIG},
    )
    return _obj(("server",), server=server)


def server_actions(ids: dict[str, str]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Action name -> (its body's schema, a valid body), as os-server-actions documents them."""
    image = _ref(ids["image"])
    rebuild = _obj(
        ("imageRef",),
        imageRef=image,
        name=_NAME,
        adminPass=_STR,
        metadata=_METADATA,
        preserve_ephemeral=_BOOL,
        description={"type": ["string", "null"], "maxLength": 255},
        key_name={"anyOf": [_ref(ids["keypair"]), _NULL]},
        user_data={"anyOf": [_BASE64, _NULL]},
        trusted_image_certificates={"type": ["array", "null"], "items": _STR, "maxItems": 2},
        hostname={"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]{0,62}$"},
        accessIPv4=_IPV4,
        accessIPv6=_IPV6,
        personality={"type": "array", "items": _obj(path=_STR, contents=_STR), "maxItems": 1},
        **{"OS-DCF:diskConfig": _DISK_CONFIG},
    )
    bodies: dict[str, tuple[dict[str, Any], Any]] = {
        "reboot": (
            _obj(("type",), type={"type": "string", "enum": ["SOFT", "HARD"]}),
            {"type": "SOFT"},
        ),
        "os-stop": (_NULL, None),
        "os-start": (_NULL, None),
        "pause": (_NULL, None),
        "unpause": (_NULL, None),
        "suspend": (_NULL, None),
        "resume": (_NULL, None),
        "lock": (
            {"anyOf": [_NULL, _obj(locked_reason={"type": "string", "maxLength": 255})]},
            {"locked_reason": "fuzzing"},
        ),
        "unlock": (_NULL, None),
        "resize": (
            _obj(
                ("flavorRef",), flavorRef=_ref(ids["flavor"]), **{"OS-DCF:diskConfig": _DISK_CONFIG}
            ),
            {"flavorRef": ids["flavor"]},
        ),
        "confirmResize": (_NULL, None),
        "revertResize": (_NULL, None),
        "createImage": (_obj(("name",), name=_NAME, metadata=_METADATA), {"name": "snap"}),
        "createBackup": (
            _obj(
                ("name", "backup_type", "rotation"),
                name=_NAME,
                backup_type={"type": "string", "enum": ["daily", "weekly"]},
                rotation=_integer(0, 3),
                metadata=_METADATA,
            ),
            {"name": "backup", "backup_type": "daily", "rotation": 1},
        ),
        "rebuild": (rebuild, {"imageRef": ids["image"], "name": "rebuilt", "metadata": {"a": "b"}}),
        "rescue": (
            {"anyOf": [_NULL, _obj(adminPass=_STR, rescue_image_ref=image)]},
            {"adminPass": "secret"},
        ),
        "unrescue": (_NULL, None),
        "shelve": (_NULL, None),
        "shelveOffload": (_NULL, None),
        "unshelve": (
            {"anyOf": [_NULL, _obj(availability_zone={"type": ["string", "null"]}, host=_STR)]},
            None,
        ),
        "os-getConsoleOutput": (
            _obj(length={"anyOf": [_integer(-1, 50), _NULL]}),
            {"length": 10},
        ),
        "os-resetState": (
            _obj(("state",), state={"type": "string", "enum": ["active", "error"]}),
            {"state": "active"},
        ),
        "forceDelete": (_NULL, None),
        "migrate": ({"anyOf": [_NULL, _obj(host=_ref(ids["host"]))]}, None),
        "os-migrateLive": (
            _obj(
                ("host",),
                host={"anyOf": [_ref(ids["host"]), _NULL]},
                block_migration={"anyOf": [_BOOL, {"type": "string", "enum": ["auto"]}]},
                disk_over_commit=_BOOL,
                force=_BOOL,
            ),
            {"host": None, "block_migration": "auto"},
        ),
        "restore": (_NULL, None),
    }
    return {
        name: (_obj((name,), **{name: schema}), {name: example})
        for name, (schema, example) in bodies.items()
    }


def _flavor_create() -> dict[str, Any]:
    flavor = _obj(
        ("name", "ram", "vcpus", "disk"),
        name=_NAME,
        id={"anyOf": [{"type": "string", "pattern": "^[a-zA-Z0-9._-]{1,20}$"}, _INT, _NULL]},
        ram=_integer(1, 4096),
        vcpus=_integer(1, 8),
        disk={"type": "integer", "minimum": 0, "maximum": 100},
        swap={"type": "integer", "minimum": 0, "maximum": 1024},
        rxtx_factor={"type": "number", "exclusiveMinimum": 0, "maximum": 10},
        description={"type": ["string", "null"], "maxLength": 65535},
        **{
            "OS-FLV-EXT-DATA:ephemeral": {"type": "integer", "minimum": 0, "maximum": 10},
            "os-flavor-access:is_public": _BOOL,
        },
    )
    return _obj(("flavor",), flavor=flavor)


_SPECS = {
    "type": "object",
    "additionalProperties": {"anyOf": [{"type": "string", "maxLength": 255}, _INT]},
    "propertyNames": {"pattern": "^[a-zA-Z0-9-_:. ]{1,255}$"},
    "maxProperties": 3,
}
_QUOTA = _integer(-1, 100)
_QUOTA_KEYS = (
    "instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups",
    "server_group_members", "injected_files", "injected_file_content_bytes",
    "injected_file_path_bytes", "fixed_ips", "floating_ips", "security_groups",
    "security_group_rules",
)  # fmt: skip


def _aggregate_body() -> dict[str, Any]:
    return _obj(
        ("aggregate",),
        aggregate=_obj(
            name=_NAME, availability_zone={"type": ["string", "null"], "maxLength": 255}
        ),
    )


def _aggregate_action(ids: dict[str, str]) -> dict[str, Any]:
    host = _obj(("host",), host=_ref(ids["host"]))
    meta = _obj(
        ("metadata",),
        metadata={
            "type": "object",
            "additionalProperties": {"type": ["string", "null"], "maxLength": 255},
            "maxProperties": 3,
        },
    )
    return {
        "oneOf": [
            _obj(("add_host",), add_host=host),
            _obj(("remove_host",), remove_host=host),
            _obj(("set_metadata",), set_metadata=meta),
        ]
    }


def _events(ids: dict[str, str]) -> dict[str, Any]:
    names = [
        "network-changed", "network-vif-plugged", "network-vif-unplugged", "network-vif-deleted",
        "volume-extended", "power-update", "accelerator-request-bound", "volume-reimaged",
    ]  # fmt: skip
    event = _obj(
        ("name", "server_uuid"),
        name={"type": "string", "enum": names},
        server_uuid=_ref(ids["server"]),
        status={"type": "string", "enum": ["failed", "completed", "in-progress"]},
        tag={"type": "string", "maxLength": 255},
    )
    return _obj(("events",), events={"type": "array", "items": event, "minItems": 1, "maxItems": 3})


def bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) -> the request body the API reference gives that operation."""
    meta = _obj(("metadata",), metadata=_METADATA)
    quota_set = _obj(
        ("quota_set",),
        quota_set=_obj(force=_BOOL, **dict.fromkeys(_QUOTA_KEYS, _QUOTA)),
    )
    quota_class = _obj(
        ("quota_class_set",), quota_class_set=_obj(**dict.fromkeys(_QUOTA_KEYS, _QUOTA))
    )
    tenant = _obj(("tenant",), tenant=_ref(ids["project"]))
    keypair = _obj(
        ("keypair",),
        keypair=_obj(
            ("name",),
            name={"type": "string", "pattern": "^[a-zA-Z0-9 @._-]{1,255}$"},
            public_key=_ref(ids["public_key"]),
            type={"type": "string", "enum": ["ssh", "x509"]},
            user_id=_ref(ids["user"]),
        ),
    )
    group = _obj(
        ("server_group",),
        server_group=_obj(
            ("name",),
            name=_NAME,
            policies={
                "type": "array",
                "items": {"type": "string", "enum": ["affinity", "anti-affinity", "soft-affinity"]},
                "maxItems": 2,
            },
            policy={"type": "string", "enum": ["affinity", "anti-affinity", "soft-anti-affinity"]},
            rules=_obj(max_server_per_host=_integer(1, 3)),
        ),
    )
    service = _obj(
        status={"type": "string", "enum": ["enabled", "disabled"]},
        disabled_reason={"type": "string", "maxLength": 255},
        forced_down=_BOOL,
        host=_ref(ids["host"]),
        binary={"type": "string", "enum": ["nova-compute", "nova-scheduler"]},
    )
    return {
        ("post", f"{V21}/servers"): json_body(
            _server_create(ids), example=_server_create_example(ids)
        ),
        ("put", S): json_body(_server_update(), example={"server": {"name": "renamed"}}),
        ("post", f"{S}/metadata"): json_body(meta, example={"metadata": {"a": "1"}}),
        ("put", f"{S}/metadata"): json_body(meta, example={"metadata": {"a": "1"}}),
        ("put", f"{S}/metadata/{{key}}"): json_body(
            _obj(("meta",), meta=_METADATA), example={"meta": {ids["meta_key"]: "v2"}}
        ),
        ("put", f"{S}/tags"): json_body(_obj(("tags",), tags=_TAGS), example={"tags": ["x"]}),
        ("post", f"{IMG}/metadata"): json_body(meta, example={"metadata": {"a": "1"}}),
        ("put", f"{IMG}/metadata"): json_body(meta, example={"metadata": {"a": "1"}}),
        ("put", f"{IMG}/metadata/{{key}}"): json_body(
            _obj(("meta",), meta=_METADATA), example={"meta": {ids["meta_key"]: "v2"}}
        ),
        ("post", f"{V21}/flavors"): json_body(
            _flavor_create(),
            example={"flavor": {"name": "fuzz-new", "ram": 64, "vcpus": 1, "disk": 1}},
        ),
        ("put", F): json_body(
            _obj(
                ("flavor",), flavor=_obj(("description",), description={"type": ["string", "null"]})
            ),
            example={"flavor": {"description": "described"}},
        ),
        ("post", f"{F}/os-extra_specs"): json_body(
            _obj(("extra_specs",), extra_specs=_SPECS), example={"extra_specs": {"hw:a": "1"}}
        ),
        ("put", f"{F}/os-extra_specs/{{key}}"): json_body(_SPECS, example={ids["spec_key"]: "2"}),
        ("post", f"{F}/action"): json_body(
            {
                "oneOf": [
                    _obj(("addTenantAccess",), addTenantAccess=tenant),
                    _obj(("removeTenantAccess",), removeTenantAccess=tenant),
                ]
            },
            example={"removeTenantAccess": {"tenant": ids["project"]}},
        ),
        ("post", f"{V21}/os-keypairs"): json_body(
            keypair, example={"keypair": {"name": "fuzz-imported", "public_key": ids["public_key"]}}
        ),
        ("post", f"{V21}/os-server-groups"): json_body(
            group, example={"server_group": {"name": "g", "policies": ["affinity"]}}
        ),
        ("put", f"{V21}/os-quota-sets/{{project_id}}"): json_body(
            quota_set, example={"quota_set": {"instances": 5, "force": True}}
        ),
        ("put", f"{V21}/os-quota-class-sets/{{name}}"): json_body(
            quota_class, example={"quota_class_set": {"cores": 30}}
        ),
        ("post", f"{V21}/os-aggregates"): json_body(
            _aggregate_body(), example={"aggregate": {"name": "fuzz-new", "availability_zone": "z"}}
        ),
        ("put", f"{V21}/os-aggregates/{{aggregate_id}}"): json_body(
            _aggregate_body(), example={"aggregate": {"name": "fuzz-renamed"}}
        ),
        ("post", f"{V21}/os-aggregates/{{aggregate_id}}/action"): json_body(
            _aggregate_action(ids), example={"add_host": {"host": ids["host"]}}
        ),
        ("put", f"{V21}/os-services/{{service_id}}"): json_body(
            service, example={"status": "disabled", "disabled_reason": "fuzz"}
        ),
        ("post", f"{V21}/os-server-external-events"): json_body(
            _events(ids),
            example={"events": [{"name": "network-changed", "server_uuid": ids["server"]}]},
        ),
    }


def queries(ids: dict[str, str]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(method, path) -> the list filters the API reference gives that operation."""
    sort_keys = ["display_name", "created_at", "uuid", "host", "vm_state", "colour"]
    servers = query(
        limit=_INT,
        marker=_ref(ids["server"]),
        sort_key={"type": "string", "enum": sort_keys},
        sort_dir=_SORT_DIR,
        name=_PATTERN,
        description=_PATTERN,
        status={"type": "string", "enum": ["ACTIVE", "SHUTOFF", "ERROR", "asleep"]},
        image=_ref(ids["image"]),
        flavor=_ref(ids["boot_flavor"]),
        ip=_PATTERN,
        ip6=_PATTERN,
        all_tenants=_TRUTHY,
        deleted=_TRUTHY,
        locked=_TRUTHY,
        tags=_STR,
        project_id=_ref(ids["admin_project"]),
        host=_ref(ids["host"]),
        reservation_id=_STR,
        **{"changes-since": _WHEN, "changes-before": _WHEN, "tags-any": _STR,
           "not-tags": _STR, "not-tags-any": _STR},
    )  # fmt: skip
    flavors = query(
        limit=_INT,
        marker=_ref(ids["boot_flavor"]),
        sort_key={"type": "string", "enum": ["flavorid", "name", "memory_mb", "vcpus", "colour"]},
        sort_dir=_SORT_DIR,
        minRam=_INT,
        minDisk=_INT,
        is_public={"type": "string", "enum": ["true", "false", "none", "maybe"]},
    )
    hypervisors = query(
        limit=_INT,
        marker=_ref(ids["node"]),
        hypervisor_hostname_pattern=_STR,
        with_servers=_TRUTHY,
    )
    usage = query(start=_WHEN, end=_WHEN, detailed=_TRUTHY, limit=_INT, marker=_ref(ids["server"]))
    migrations = query(
        limit=_INT,
        marker=_STR,
        hidden=_TRUTHY,
        host=_ref(ids["host"]),
        instance_uuid=_ref(ids["server"]),
        source_compute=_STR,
        status=_STR,
        migration_type={"type": "string", "enum": ["resize", "migration", "live-migration", "x"]},
        user_id=_STR,
        project_id=_STR,
        **{"changes-since": _WHEN, "changes-before": _WHEN},
    )
    return {
        ("get", f"{V21}/servers"): servers,
        ("get", f"{V21}/servers/detail"): servers,
        ("get", f"{V21}/flavors"): flavors,
        ("get", f"{V21}/flavors/detail"): flavors,
        ("get", f"{V21}/os-keypairs"): query(
            user_id=_ref(ids["user"]), limit=_INT, marker=_ref(ids["keypair"])
        ),
        ("get", f"{V21}/os-hypervisors"): hypervisors,
        ("get", f"{V21}/os-hypervisors/detail"): hypervisors,
        ("get", f"{V21}/os-simple-tenant-usage"): usage,
        ("get", f"{V21}/os-simple-tenant-usage/{{project_id}}"): usage,
        ("get", f"{V21}/os-migrations"): migrations,
        ("get", f"{V21}/os-server-groups"): query(all_projects=_TRUTHY, limit=_INT, offset=_INT),
        ("get", f"{V21}/os-services"): query(host=_ref(ids["host"]), binary=_STR),
        ("get", f"{V21}/limits"): query(tenant_id=_ref(ids["project"]), reserved=_INT),
    }
