"""S3's XML bodies: writing responses from plain Python values, and safely reading requests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stackling.object.s3.errors import S3Error, xml_text

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
# A request body larger than this is refused before parsing: no S3 request document we
# accept comes near it (1000 keys of 1 KiB each in a multi-object delete, with escaping;
# 10000 parts in a CompleteMultipartUpload).
MAX_BODY = 4 * 1024 * 1024
MAX_DELETE_KEYS = 1000
MAX_PART_NUMBER = 10000

# A child is (name, value). A value is text-like (str, int, bool, datetime), None (the
# element is left out), or nested children (a list of pairs or a mapping). A name starting
# with "@" sets an attribute on the parent instead.
Children = Iterable[tuple[str, Any]] | Mapping[str, Any]


def iso8601(when: datetime) -> str:
    """A time as S3 writes it in XML: UTC with milliseconds, e.g. 2009-10-12T17:50:30.000Z."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso8601(value)
    return str(value)


def _pairs(children: Children) -> Iterable[tuple[str, Any]]:
    return children.items() if isinstance(children, Mapping) else children


def _write(out: list[str], name: str, value: Any, attrs: str = "") -> None:
    if value is None:
        return
    if isinstance(value, Mapping | list | tuple):
        inner: list[str] = []
        for child, child_value in _pairs(value):
            if child.startswith("@"):
                attrs += f' {child[1:]}="{xml_text(_text(child_value))}"'
            else:
                _write(inner, child, child_value)
        out.append(f"<{name}{attrs}>{''.join(inner)}</{name}>")
    else:
        out.append(f"<{name}{attrs}>{xml_text(_text(value))}</{name}>")


def to_xml(root: str, children: Children, *, namespace: str | None = NAMESPACE) -> bytes:
    """An XML document whose root element holds these children, in S3's namespace."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    _write(out, root, children, f' xmlns="{namespace}"' if namespace else "")
    return "".join(out).encode("utf-8")


def _local(tag: str) -> str:
    # Clients send these documents with or without S3's namespace: match on the local name.
    return tag.rsplit("}", 1)[-1]


def parse_xml(body: bytes, root: str, *, max_bytes: int = MAX_BODY) -> ET.Element:
    """Parse a request body whose root element must be `root`, refusing entities and DTDs."""
    if len(body) > max_bytes:
        raise S3Error("MalformedXML", "Your request body is too large.")
    lowered = body.lower()
    # No S3 document needs a DTD, and refusing them outright rules out entity expansion
    # ("billion laughs") and external entities whatever the parser would do with them.
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise S3Error("MalformedXML")
    try:
        element = ET.fromstring(body)
    except ET.ParseError as exc:
        raise S3Error("MalformedXML") from exc
    if _local(element.tag) != root:
        raise S3Error("MalformedXML")
    return element


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _child_text(element: ET.Element, name: str) -> str | None:
    found = _children(element, name)
    if not found:
        return None
    return found[0].text or ""


@dataclass(frozen=True)
class CompletedPart:
    """One part named in a CompleteMultipartUpload request."""

    part_number: int
    etag: str


def parse_complete_multipart(body: bytes) -> list[CompletedPart]:
    """The parts of a CompleteMultipartUpload body, checked to be in ascending order."""
    element = parse_xml(body, "CompleteMultipartUpload")
    parts: list[CompletedPart] = []
    for part in _children(element, "Part"):
        number = _child_text(part, "PartNumber")
        etag = _child_text(part, "ETag")
        if number is None or etag is None:
            raise S3Error("MalformedXML")
        try:
            part_number = int(number.strip())
        except ValueError as exc:
            raise S3Error("MalformedXML") from exc
        if not 1 <= part_number <= MAX_PART_NUMBER:
            raise S3Error(
                "InvalidArgument",
                f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
                ArgumentName="partNumber",
                ArgumentValue=str(part_number),
            )
        if parts and part_number <= parts[-1].part_number:
            raise S3Error("InvalidPartOrder")
        # Clients send the ETag with or without its quotes; compare them without.
        parts.append(CompletedPart(part_number, etag.strip().strip('"')))
    if not parts:
        raise S3Error("MalformedXML")
    return parts


@dataclass(frozen=True)
class DeleteRequest:
    """A multi-object delete: the keys (with optional version ids) and the Quiet flag."""

    objects: list[tuple[str, str | None]]
    quiet: bool


def parse_delete(body: bytes) -> DeleteRequest:
    """The objects named in a multi-object Delete body (at most 1000, as S3 allows)."""
    element = parse_xml(body, "Delete")
    objects: list[tuple[str, str | None]] = []
    for obj in _children(element, "Object"):
        key = _child_text(obj, "Key")
        if not key:
            raise S3Error("MalformedXML")
        objects.append((key, _child_text(obj, "VersionId") or None))
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise S3Error("MalformedXML")
    quiet = (_child_text(element, "Quiet") or "false").strip().lower()
    if quiet not in ("true", "false"):
        raise S3Error("MalformedXML")
    return DeleteRequest(objects, quiet == "true")


def parse_create_bucket(body: bytes) -> str | None:
    """The LocationConstraint of a CreateBucketConfiguration body (None if absent or empty)."""
    if not body.strip():
        return None
    element = parse_xml(body, "CreateBucketConfiguration")
    location = _child_text(element, "LocationConstraint")
    return location.strip() or None if location is not None else None


@dataclass(frozen=True)
class Versioning:
    """A VersioningConfiguration: Status (Enabled/Suspended) and MfaDelete, when given."""

    status: str | None
    mfa_delete: str | None


def parse_versioning(body: bytes) -> Versioning:
    """The settings of a VersioningConfiguration body, checked against S3's allowed values."""
    element = parse_xml(body, "VersioningConfiguration")
    status = _child_text(element, "Status")
    mfa_delete = _child_text(element, "MfaDelete")
    if status is not None and status not in ("Enabled", "Suspended"):
        raise S3Error("MalformedXML")
    if mfa_delete is not None and mfa_delete not in ("Enabled", "Disabled"):
        raise S3Error("MalformedXML")
    return Versioning(status, mfa_delete)
