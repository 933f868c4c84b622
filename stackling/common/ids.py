"""Identifiers."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A Keystone-style id: 32 lowercase hex characters."""
    return uuid.uuid4().hex


def new_uuid() -> str:
    """A dashed UUID4, as Nova, Neutron and Glance use."""
    return str(uuid.uuid4())
