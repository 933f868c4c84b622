"""List query strings, read as Neutron reads them, for every resource alike.

Any filterable attribute filters (a repeated parameter means any of its
values); an attribute that is not one is a 400 (filter-validation). `fields`
picks attributes, `sort_key`/`sort_dir` come in pairs, `limit`/`marker`/
`page_reverse` page, with next/previous links as `<collection>_links`; tags
filter with tags, tags-any, not-tags and not-tags-any (comma-separated), and
`changed_since` keeps what changed since a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from stackling.common import errors
from stackling.common.timeutil import parse_iso
from stackling.network import faults
from stackling.network.api.attributes import Spec
from stackling.network.service.listing import ListQuery

_PAGING = ("limit", "marker", "page_reverse")
_SORTING = ("sort_key", "sort_dir")
_TAGS = {
    "tags": "tags",
    "tags-any": "tags_any",
    "not-tags": "not_tags",
    "not-tags-any": "not_tags_any",
}
# Integer columns are 32-bit; a larger number matches nothing and some databases refuse it.
_MIN, _MAX = -(2**31), 2**31 - 1
_RESERVED = {"fields", "changed_since", *_PAGING, *_SORTING, *_TAGS}


@dataclass(slots=True)
class ListRequest:
    """A parsed list request: the service's query, plus what shapes the answer."""

    query: ListQuery
    fields: list[str] = field(default_factory=list)
    items: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def select(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item reduced to the asked fields (all of them when none were asked)."""
        if not self.fields:
            return item
        return {key: value for key, value in item.items() if key in self.fields}

    def links(self, ids: list[str]) -> list[dict[str, str]]:
        """Neutron's next/previous links for a page whose items have these ids."""
        limit = self.query.limit
        if not limit:
            return []
        reverse = self.query.page_reverse
        links = []
        if not (len(ids) < limit and not reverse):
            links.append({"rel": "next", "href": self._href(ids[-1] if ids else None, False)})
        if not (len(ids) < limit and reverse):
            links.append({"rel": "previous", "href": self._href(ids[0] if ids else None, True)})
        return links

    def _href(self, marker: str | None, previous: bool) -> str:
        params = [(k, v) for k, v in self.items if k != "marker" and k != "page_reverse"]
        if marker is not None:
            params.append(("marker", marker))
        if previous:
            params.append(("page_reverse", "True"))
        return f"{self.url}?{urlencode(params)}"


def _values(items: list[tuple[str, str]], key: str) -> list[str]:
    return [value for name, value in items if name == key and value]


def _filters(spec: Spec, items: list[tuple[str, str]]) -> dict[str, list[Any]]:
    by_key: dict[str, list[str]] = {}
    # Tag filters are filters of the resources that have tags; of the others, unknown ones.
    reserved = _RESERVED if "tags" in spec.by_name else _RESERVED - set(_TAGS)
    for key, value in items:
        if key not in reserved:
            by_key.setdefault(key, []).append(value)
    filterable = spec.filters
    invalid = [key for key in by_key if key not in filterable]
    if invalid:
        raise errors.BadRequest(f"{invalid} is invalid attribute for filtering")
    if "project_id" in by_key and "tenant_id" in by_key:
        raise faults.TenantIdProjectIdFilterConflict()
    out: dict[str, list[Any]] = {}
    for key, raw in by_key.items():
        attr = filterable[key]
        convert = attr.filter_convert or attr.convert
        wanted = [v for v in raw if v]
        if convert is not None:
            wanted = [_in_range(convert(v)) for v in wanted]
        if wanted:
            out["project_id" if key == "tenant_id" else key] = wanted
    return out


def _in_range(value: Any) -> Any:
    """A converted filter value; integers no column can hold are refused (400), not sent."""
    if isinstance(value, int) and not isinstance(value, bool) and not _MIN <= value <= _MAX:
        raise faults.InvalidInput(f"'{value}' is out of range")
    return value


def _sorts(spec: Spec, items: list[tuple[str, str]]) -> list[tuple[str, bool]]:
    keys, dirs = _values(items, "sort_key"), _values(items, "sort_dir")
    if len(keys) != len(dirs):
        raise errors.BadRequest("The number of sort_keys and sort_dirs must be same")
    absent = [key for key in keys if key not in spec.sort_keys]
    if absent:
        raise errors.BadRequest(f"{absent} is invalid attribute for sort_keys")
    invalid = [d for d in dirs if d not in ("asc", "desc")]
    if invalid:
        raise errors.BadRequest(
            f"{invalid} is invalid value for sort_dirs, valid value is 'asc' and 'desc'"
        )
    return [
        ("project_id" if k == "tenant_id" else k, d == "asc")
        for k, d in zip(keys, dirs, strict=True)
    ]


def _limit(items: list[tuple[str, str]], max_limit: int) -> int | None:
    raw = next((value for key, value in reversed(items) if key == "limit"), "0")
    try:
        limit = int(raw)
        if limit < 0:
            raise ValueError
    except ValueError:
        raise faults.BadRequest(
            "limit", f"Limit must be an integer 0 or greater and not '{raw}'"
        ) from None
    if max_limit > 0:
        limit = min(max_limit, limit) or max_limit
    # A larger page than any table holds means "everything"; databases cannot take it.
    return min(limit, _MAX) or None


def _changed_since(items: list[tuple[str, str]]) -> dt.datetime | None:
    raw = next((value for key, value in reversed(items) if key == "changed_since"), None)
    if raw is None:
        return None
    try:
        # A '+' of an offset that was not percent-encoded arrives as a space.
        return parse_iso(raw.replace(" ", "+"))
    except ValueError:
        raise errors.BadRequest(
            "The input changed_since must be in the following format: YYYY-MM-DDTHH:MM:SS"
        ) from None


def _tags(items: list[tuple[str, str]], key: str) -> list[str]:
    return [tag for value in _values(items, key) for tag in value.split(",") if tag]


def parse(request: Request, spec: Spec, max_limit: int) -> ListRequest:
    """The list request of a GET on `spec`'s collection."""
    items = list(request.query_params.multi_items())
    limit = _limit(items, max_limit)
    marker = next((v for k, v in reversed(items) if k == "marker" and v), None)
    reverse = next((v for k, v in reversed(items) if k == "page_reverse"), "false")
    query = ListQuery(
        filters=_filters(spec, items),
        sorts=_sorts(spec, items),
        limit=limit,
        marker=marker if limit else None,
        page_reverse=reverse.lower() == "true" and bool(limit),
        changed_since=_changed_since(items),
        **{attr: _tags(items, key) for key, attr in _TAGS.items()},
    )
    url = str(request.url.replace(query=""))
    return ListRequest(query, _values(items, "fields"), items, url.rstrip("?"))
