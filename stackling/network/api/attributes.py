"""Declared resource attributes: what a body may set, how values convert, what lists filter on.

Each resource is a `Spec`: its attributes with Neutron's flags (allowed on
POST or PUT, default, converter, validator, filterable, sortable). Request
bodies are checked and filled from it (`prepare`), list queries read their
filters and sort keys from it, and views drop what policy hides with it.
Validators return a reason (None when the value is fine), which becomes
"Invalid input for <attr>. Reason: <reason>."; converters raise InvalidInput.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.network import faults, policy

Validator = Callable[[Any], str | None]
Converter = Callable[[Any], Any]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


# The default of an attribute a POST must give.
REQUIRED: Any = _Required()
# An attribute the body did not give and that has no default to fill in.
UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class Attr:
    """One attribute of a resource as the API knows it."""

    name: str
    post: bool = False
    put: bool = False
    default: Any = UNSET
    convert: Converter | None = None
    validate: Validator | None = None
    filter: bool = False
    sort: bool = False
    # How a query-string value converts (defaults to `convert`; strings stay strings).
    filter_convert: Converter | None = None


@dataclass(frozen=True)
class Spec:
    """A resource: its names and attributes."""

    member: str
    collection: str
    attrs: tuple[Attr, ...]
    by_name: dict[str, Attr] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name: a for a in self.attrs})

    @property
    def path(self) -> str:
        """The collection's URL segment (security-groups: Neutron's URLs use hyphens)."""
        return self.collection.replace("_", "-")

    @property
    def filters(self) -> dict[str, Attr]:
        """Attributes lists may filter on."""
        return {a.name: a for a in self.attrs if a.filter}

    @property
    def sort_keys(self) -> set[str]:
        """Attributes lists may sort by."""
        return {a.name for a in self.attrs if a.sort}


# -- converters --------------------------------------------------------------------


def to_boolean(value: Any) -> bool:
    """Neutron's convert_to_boolean: true/false in any case, 0/1, or a JSON boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise faults.InvalidInput(f"'{value}' cannot be converted to boolean")


def to_boolean_or_none(value: Any) -> bool | None:
    """A boolean, or None for null."""
    return None if value is None else to_boolean(value)


def to_int(value: Any) -> int:
    """Neutron's convert_to_int: an integer or a string of one (not a boolean or float)."""
    if isinstance(value, bool):
        raise faults.InvalidInput(f"'{value}' is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise faults.InvalidInput(f"'{value}' is not an integer")


def to_int_or_none(value: Any) -> int | None:
    """An integer, or None for null."""
    return None if value is None else to_int(value)


def to_list(value: Any) -> list[Any]:
    """A list, turning a single value into one (convert_to_list)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def to_dict_or_empty(value: Any) -> Any:
    """None becomes {} (binding:profile)."""
    return {} if value is None else value


# -- validators --------------------------------------------------------------------


def string(max_len: int | None = 255, allow_none: bool = False) -> Validator:
    """A string no longer than `max_len`."""

    def check(value: Any) -> str | None:
        if value is None and allow_none:
            return None
        if not isinstance(value, str):
            return f"'{value}' is not a valid string"
        if max_len is not None and len(value) > max_len:
            return f"'{value}' exceeds maximum length of {max_len}"
        return None

    return check


def uuid_str(value: Any) -> str | None:
    """A UUID in its usual spelling."""
    if not isinstance(value, str):
        return f"'{value}' is not a valid UUID"
    try:
        uuid.UUID(value)
    except ValueError:
        return f"'{value}' is not a valid UUID"
    return None


def uuid_or_none(value: Any) -> str | None:
    """A UUID or null."""
    return None if value is None else uuid_str(value)


def values(*allowed: Any) -> Validator:
    """One of `allowed`."""

    def check(value: Any) -> str | None:
        if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
            return f"'{value}' is not in {list(allowed)}"
        return None

    return check


def in_range(low: int, high: int) -> Validator:
    """An integer from `low` to `high`."""

    def check(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"'{value}' is not an integer"
        if value < low:
            return f"'{value}' is too small - must be at least '{low}'"
        if value > high:
            return f"'{value}' is too large - must be no larger than '{high}'"
        return None

    return check


def non_negative(value: Any) -> str | None:
    """An integer of 0 or more."""
    if not isinstance(value, int) or isinstance(value, bool):
        return f"'{value}' is not an integer"
    if value < 0:
        return f"'{value}' should be non-negative"
    return None


def ip_address(value: Any) -> str | None:
    """An IPv4 or IPv6 address."""
    if not isinstance(value, str):
        return f"'{value}' is not a valid IP address"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"'{value}' is not a valid IP address"
    return None


def ip_address_or_none(value: Any) -> str | None:
    """An address or null."""
    return None if value is None else ip_address(value)


def subnet_cidr(value: Any) -> str | None:
    """A prefix in CIDR form whose host bits are zero."""
    if not isinstance(value, str) or "/" not in value:
        return f"'{value}' is not a valid IP subnet"
    try:
        # Host bits are allowed here (Neutron keeps the network part when it stores it).
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f"'{value}' is not a valid IP subnet"
    return None


def subnet_or_none(value: Any) -> str | None:
    """A CIDR or null."""
    return None if value is None else subnet_cidr(value)


def ip_or_subnet(value: Any) -> str | None:
    """An address or a prefix (allowed address pairs)."""
    if not isinstance(value, str):
        return f"'{value}' is not a valid IP address"
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f"'{value}' is neither a valid IP address, nor is it a valid IP subnet"
    return None


_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


def mac_address(value: Any) -> str | None:
    """A unicast MAC address, colon-separated."""
    if not isinstance(value, str) or not _MAC.match(value.lower()):
        return f"'{value}' is not a valid MAC address"
    if int(value[:2], 16) & 1:
        return f"'{value}' is not a valid MAC address"
    return None


def dict_or_none(value: Any) -> str | None:
    """A JSON object (or null)."""
    if value is not None and not isinstance(value, dict):
        return f"'{value}' is not a dictionary"
    return None


def list_of(item: Validator, *, unique: bool = False, what: str = "value") -> Validator:
    """A list each of whose items passes `item`."""

    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return f"'{value}' is not a list"
        for entry in value:
            reason = item(entry)
            if reason:
                return reason
        if unique:
            seen: set[str] = set()
            for entry in value:
                key = repr(entry)
                if key in seen:
                    return f"Duplicate {what} '{entry}'"
                seen.add(key)
        return None

    return check


def dicts_with(keys: dict[str, Validator], required: tuple[str, ...], what: str) -> Validator:
    """A list of objects holding only `keys` (those in `required` always)."""

    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return f"Invalid data format for {what}: '{value}'"
        for entry in value:
            if not isinstance(entry, dict):
                return f"Invalid data format for {what}: '{entry}'"
            unknown = set(entry) - set(keys)
            missing = [k for k in required if k not in entry]
            if unknown or missing:
                return f"Invalid data format for {what}: '{entry}'"
            for key, item_check in keys.items():
                if key in entry:
                    reason = item_check(entry[key])
                    if reason:
                        return reason
        return None

    return check


def or_none(check: Validator) -> Validator:
    """`check`, or null."""
    return lambda value: None if value is None else check(value)


def all_of(*checks: Validator) -> Validator:
    """Every one of `checks`, in order."""

    def check(value: Any) -> str | None:
        for one in checks:
            reason = one(value)
            if reason:
                return reason
        return None

    return check


# -- standard attributes shared by every resource ---------------------------------


def project_attrs() -> tuple[Attr, ...]:
    """project_id and its older spelling tenant_id."""
    return (
        Attr("project_id", post=True, validate=string(255), filter=True, sort=True),
        Attr("tenant_id", post=True, validate=string(255), filter=True, sort=True),
    )


def standard_attrs() -> tuple[Attr, ...]:
    """description, revision_number, timestamps and tags."""
    return (
        Attr("description", post=True, put=True, default="", validate=string(255), filter=True),
        Attr("revision_number", filter=True, sort=True, filter_convert=to_int),
        Attr("created_at", sort=True),
        Attr("updated_at", sort=True),
        Attr("tags"),
    )


# -- request bodies ----------------------------------------------------------------


def prepare(
    spec: Spec, ctx: RequestContext, body: Any, *, create: bool, action: str
) -> dict[str, Any]:
    """The resource of a POST or PUT body, checked, converted and (on POST) completed.

    Refuses what Neutron refuses, with its words: no resource object, unknown
    attributes, attributes a POST or PUT may not set, missing required ones,
    values that fail validation, another project's id from a non-admin, and
    attributes whose own policy rule the caller fails (403).
    """
    if not body:
        raise errors.BadRequest("Resource body required")
    if not isinstance(body, dict):
        raise errors.BadRequest("Body contains invalid data")
    item = body.get(spec.member)
    if item is None:
        raise errors.BadRequest(f"Unable to find '{spec.member}' in request body")
    if not isinstance(item, dict):
        raise errors.BadRequest(f"Object '{spec.member}' contains invalid data")
    item = dict(item)
    _project_info(ctx, item, create)
    unknown = sorted(set(item) - set(spec.by_name))
    if unknown:
        raise errors.BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    given = [name for name in item if name not in ("project_id", "tenant_id")]
    if create:
        _fill_defaults(spec, item)
    else:
        for name in item:
            if not spec.by_name[name].put:
                raise errors.BadRequest(f"Cannot update read-only attribute {name}")
    _convert(spec, item)
    if create:
        # As Neutron: giving an attribute its default value needs no permission.
        given = [name for name in given if not _is_default(spec.by_name[name], item[name])]
    policy.enforce_attributes(ctx, action, given, static_only=True)
    return item


def _fill_defaults(spec: Spec, item: dict[str, Any]) -> None:
    """Refuse what a POST may not set or must set; fill in the defaults of the rest."""
    for attr in spec.attrs:
        if not attr.post:
            if attr.name in item:
                raise errors.BadRequest(f"Attribute '{attr.name}' not allowed in POST")
        elif attr.name not in item:
            if attr.default is REQUIRED:
                raise errors.BadRequest(
                    f"Failed to parse request. Required attribute '{attr.name}' not specified"
                )
            if attr.default is not UNSET:
                item[attr.name] = attr.default


def _convert(spec: Spec, item: dict[str, Any]) -> None:
    """Convert each value as its attribute does, then validate it (400 with the reason)."""
    for name, value in list(item.items()):
        attr = spec.by_name[name]
        if attr.convert is not None:
            value = attr.convert(value)
        if attr.validate is not None:
            reason = attr.validate(value)
            if reason:
                raise errors.BadRequest(f"Invalid input for {name}. Reason: {reason}.")
        item[name] = value


def _is_default(attr: Attr, value: Any) -> bool:
    return attr.default is not UNSET and attr.default is not REQUIRED and value == attr.default


def _project_info(ctx: RequestContext, item: dict[str, Any], create: bool) -> None:
    """project_id and tenant_id agree and, unless the caller is admin, name its project."""
    if "tenant_id" in item and "project_id" not in item:
        item["project_id"] = item["tenant_id"]
    elif "project_id" in item and "tenant_id" not in item:
        item["tenant_id"] = item["project_id"]
    if item.get("project_id") != item.get("tenant_id"):
        raise errors.BadRequest("'project_id' and 'tenant_id' do not match")
    if "project_id" in item and item["project_id"] != ctx.project_id and not ctx.is_admin:
        raise errors.BadRequest(
            "Specifying 'project_id' other than the authenticated project in request "
            "is not allowed for the current user."
        )
    if create and "project_id" not in item:
        item["project_id"] = item["tenant_id"] = ctx.project_id
