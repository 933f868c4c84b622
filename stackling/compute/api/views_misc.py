"""Key pairs and server groups as Nova shows them, microversion by microversion."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.service.keypairs import Created
from stackling.compute.service.server_groups import GroupRecord


def timestamp(value: dt.datetime | None) -> str | None:
    """Nova's timestamps of non-server resources: microseconds, no zone."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def keypair_created(created: Created, mv: Version) -> dict[str, Any]:
    """The body of POST /os-keypairs."""
    kp = created.keypair
    body: dict[str, Any] = {
        "name": kp.name,
        "public_key": kp.public_key,
        "fingerprint": kp.fingerprint,
        "user_id": kp.user_id,
    }
    if created.private_key is not None:
        body["private_key"] = created.private_key
    if mv.at_least("2.2"):
        body["type"] = kp.type
    return body


def keypair_item(kp: m.KeyPair, mv: Version) -> dict[str, Any]:
    """A key pair in GET /os-keypairs (wrapped in `{"keypair": ...}`)."""
    body: dict[str, Any] = {
        "name": kp.name,
        "public_key": kp.public_key,
        "fingerprint": kp.fingerprint,
    }
    if mv.at_least("2.2"):
        body["type"] = kp.type
    return {"keypair": body}


def keypair_detail(kp: m.KeyPair, mv: Version) -> dict[str, Any]:
    """GET /os-keypairs/{name}."""
    body: dict[str, Any] = {
        "id": kp.id,
        "name": kp.name,
        "public_key": kp.public_key,
        "fingerprint": kp.fingerprint,
        "user_id": kp.user_id,
        "created_at": timestamp(kp.created_at),
        "updated_at": None,
        "deleted_at": None,
        "deleted": False,
    }
    if mv.at_least("2.2"):
        body["type"] = kp.type
    return body


def server_group(record: GroupRecord, mv: Version) -> dict[str, Any]:
    """A server group: `policies` + `metadata` before 2.64, `policy` + `rules` from it."""
    group = record.group
    body: dict[str, Any] = {"id": group.uuid, "name": group.name, "members": list(record.members)}
    if mv.at_least("2.64"):
        body["policy"] = group.policy
        body["rules"] = dict(group.rules or {})
    else:
        body["policies"] = [group.policy]
        body["metadata"] = {}
    if mv.at_least("2.13"):
        body["project_id"] = group.project_id
        body["user_id"] = group.user_id
    return body
