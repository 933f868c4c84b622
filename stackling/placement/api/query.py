"""Query strings of the provider list and allocation candidates, per microversion."""

from __future__ import annotations

import re

from fastapi import Request

from stackling.common import errors
from stackling.placement.api import body
from stackling.placement.api.microversion import Version
from stackling.placement.errors import QueryBadValue, QueryDuplicateKey
from stackling.placement.service.search import ProviderQuery

_AMOUNT = re.compile(r"^[A-Z0-9_]+:[0-9]+$")
_GRANULAR = re.compile(r"^(resources|required|member_of|in_tree)[0-9A-Za-z_-]+$")


def bad(message: str) -> errors.BadRequest:
    """Placement's answer to a query string it cannot use."""
    return errors.BadRequest(f"Invalid query string parameters: {message}")


def pairs(request: Request, allowed: set[str]) -> dict[str, list[str]]:
    """Query parameters by name; 400 for one the route does not take at this version."""
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in allowed:
            if _GRANULAR.match(key):
                raise bad(f"Granular request groups are not supported here ({key!r}).")
            raise bad(f"Additional properties are not allowed ({key!r} was unexpected)")
        out.setdefault(key, []).append(value)
    return out


def single(params: dict[str, list[str]], key: str) -> str | None:
    """The one value of `key`; 400 placement.query.duplicate_key when it repeats."""
    values = params.get(key)
    if not values:
        return None
    if len(values) > 1:
        raise QueryDuplicateKey(f"Query parameter {key!r} may be given only once.")
    return values[0]


def resources(value: str) -> dict[str, int]:
    """`VCPU:2,MEMORY_MB:1024` as a dict."""
    out: dict[str, int] = {}
    for part in value.split(","):
        part = part.strip()
        if not _AMOUNT.match(part):
            raise errors.BadRequest(
                "Badly formed resources parameter. Expected resources query string parameter "
                f"in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: {value}."
            )
        rc, amount = part.split(":")
        if int(amount) < 1 or int(amount) > body.MAX_INT:
            raise errors.BadRequest(
                f"Requested resource {rc} expected positive integer amount. Got: {amount}."
            )
        if rc in out:
            raise errors.BadRequest(f"Resource class {rc} was specified more than once.")
        out[rc] = int(amount)
    return out


def _uuid(value: str, key: str) -> str:
    try:
        return body.uuid(value, key)
    except errors.BadRequest:
        raise bad(f"Expected {key!r} parameter to contain valid UUID(s). Got: {value}") from None


def traits(values: list[str], version: Version, key: str, into: dict[str, object]) -> None:
    """Fill `into` (required, forbidden, any_traits) from `required` values."""
    if len(values) > 1 and not version.at_least(39):
        raise QueryDuplicateKey(f"Query parameter {key!r} may be given only once.")
    required: set[str] = set()
    forbidden: set[str] = set()
    any_traits: list[frozenset[str]] = []
    form = f"Expected {key!r} parameter value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC."
    for value in values:
        if value.startswith("in:") and version.at_least(39):
            names = value[3:].split(",")
            if not all(names):
                raise bad(f"{form} Got: {value}")
            any_traits.append(frozenset(names))
            continue
        for name in value.split(","):
            if name.startswith("!") and version.at_least(22):
                if not name[1:]:
                    raise bad(f"{form} Got: {value}")
                forbidden.add(name[1:])
            elif not name:
                raise bad(f"{form} Got: {value}")
            else:
                required.add(name)
    conflict = required & forbidden
    if conflict:
        raise bad(f"Conflicting required and forbidden traits found in {key!r}: {sorted(conflict)}")
    into["required"] = frozenset(required)
    into["forbidden"] = frozenset(forbidden)
    into["any_traits"] = tuple(any_traits)


def member_of(values: list[str], version: Version, into: dict[str, object]) -> None:
    """Fill `into` (member_of, not_member_of) from `member_of` values."""
    if len(values) > 1 and not version.at_least(24):
        raise QueryDuplicateKey("Query parameter 'member_of' may be given only once.")
    groups: list[frozenset[str]] = []
    forbidden: set[str] = set()
    for value in values:
        negative = value.startswith("!") and version.at_least(32)
        text = value[1:] if negative else value
        if text.startswith("in:"):
            uuids = [_uuid(u, "member_of") for u in text[3:].split(",")]
        else:
            uuids = [_uuid(text, "member_of")]
        if negative:
            forbidden.update(uuids)
        else:
            groups.append(frozenset(uuids))
    into["member_of"] = tuple(groups)
    into["not_member_of"] = frozenset(forbidden)


def limit(value: str | None) -> int | None:
    """A positive `limit`."""
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise bad(f"'limit' must be a positive integer. Got: {value}")
    return int(value)


def provider_list(request: Request, version: Version) -> ProviderQuery:
    """GET /resource_providers filters: name, uuid, member_of, resources, in_tree, required."""
    allowed = {"name", "uuid"}
    for minor, key in ((3, "member_of"), (4, "resources"), (14, "in_tree"), (18, "required")):
        if version.at_least(minor):
            allowed.add(key)
    params = pairs(request, allowed)
    fields: dict[str, object] = {"name": single(params, "name")}
    uuid = single(params, "uuid")
    if uuid is not None:
        fields["uuid"] = _uuid(uuid, "uuid")
    tree = single(params, "in_tree")
    if tree is not None:
        fields["in_tree"] = _uuid(tree, "in_tree")
    wanted = single(params, "resources")
    if wanted is not None:
        fields["resources"] = resources(wanted)
    if "required" in params:
        traits(params["required"], version, "required", fields)
    if "member_of" in params:
        member_of(params["member_of"], version, fields)
    return ProviderQuery(**fields)  # type: ignore[arg-type]


def candidates(request: Request, version: Version) -> tuple[ProviderQuery, int | None]:
    """GET /allocation_candidates: the query for single-provider candidates, and the limit."""
    allowed = {"resources"}
    for minor, keys in (
        (16, ("limit",)),
        (17, ("required",)),
        (21, ("member_of",)),
        (25, ("group_policy",)),
        (31, ("in_tree",)),
        (35, ("root_required",)),
    ):
        if version.at_least(minor):
            allowed.update(keys)
    params = pairs(request, allowed)
    wanted = single(params, "resources")
    if wanted is None:
        raise bad("'resources' is a required property")
    fields: dict[str, object] = {"resources": resources(wanted), "aggregates_via_root": True}
    if "required" in params:
        traits(params["required"], version, "required", fields)
    if "member_of" in params:
        member_of(params["member_of"], version, fields)
    tree = single(params, "in_tree")
    if tree is not None:
        fields["in_tree"] = _uuid(tree, "in_tree")
    policy = single(params, "group_policy")
    if policy is not None and policy not in ("none", "isolate"):
        raise QueryBadValue(f"Invalid group_policy {policy!r}: expected 'none' or 'isolate'.")
    root = single(params, "root_required")
    if root is not None:
        roots: dict[str, object] = {}
        traits([root], version, "root_required", roots)
        fields["root_required"] = roots["required"]
        fields["root_forbidden"] = roots["forbidden"]
    return ProviderQuery(**fields), limit(single(params, "limit"))  # type: ignore[arg-type]
