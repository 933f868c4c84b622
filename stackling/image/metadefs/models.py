"""Metadefs tables: namespaces, their objects, properties and tags, and resource types.

Children hang off a namespace's integer id, so renaming a namespace touches one
row; integer ids also give rows created in one transaction a stable order.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stackling.common.timeutil import utcnow
from stackling.db.base import Base, UTCDateTime

NAME_LEN = 80
# SQLite reuses the largest rowid after a delete unless told otherwise; ids
# break ties in list order, so they must only grow.
_MONOTONIC = {"sqlite_autoincrement": True}


class MetadefNamespace(Base):
    """A namespace: a named, owned container of metadata definitions."""

    __tablename__ = "image_metadef_namespaces"
    __table_args__ = (UniqueConstraint("namespace"), _MONOTONIC)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(NAME_LEN))
    display_name: Mapped[str | None] = mapped_column(String(NAME_LEN))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(32), default="private", index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefObject(Base):
    """An object: a named group of property definitions inside a namespace."""

    __tablename__ = "image_metadef_objects"
    __table_args__ = (UniqueConstraint("namespace_id", "name"), _MONOTONIC)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("image_metadef_namespaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    description: Mapped[str | None] = mapped_column(Text)
    required: Mapped[list[str]] = mapped_column(JSON, default=list)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefProperty(Base):
    """A property definition (a JSON-schema fragment) directly in a namespace."""

    __tablename__ = "image_metadef_properties"
    __table_args__ = (UniqueConstraint("namespace_id", "name"), _MONOTONIC)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("image_metadef_namespaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefTag(Base):
    """A tag definition in a namespace."""

    __tablename__ = "image_metadef_tags"
    __table_args__ = (UniqueConstraint("namespace_id", "name"), _MONOTONIC)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("image_metadef_namespaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefResourceType(Base):
    """A kind of resource namespaces apply to (OS::Glance::Image, OS::Nova::Flavor...)."""

    __tablename__ = "image_metadef_resource_types"
    __table_args__ = (UniqueConstraint("name"), _MONOTONIC)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    # Seeded types are the system's own; ones made by an association are not.
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MetadefNamespaceResourceType(Base):
    """A namespace applying to a resource type, with the prefix its properties take there."""

    __tablename__ = "image_metadef_namespace_resource_types"

    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("image_metadef_namespaces.id", ondelete="CASCADE"), primary_key=True
    )
    resource_type_id: Mapped[int] = mapped_column(
        ForeignKey("image_metadef_resource_types.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )
    prefix: Mapped[str | None] = mapped_column(String(NAME_LEN))
    properties_target: Mapped[str | None] = mapped_column(String(NAME_LEN))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
