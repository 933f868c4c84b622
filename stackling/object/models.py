"""Object tables: accounts, containers, objects, freed data, S3 multipart uploads.

Names sort as Swift sorts them, by their UTF-8 bytes: SQLite's default BINARY
collation does that, and PostgreSQL is told to use the "C" collation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from stackling.db.base import Base


def _name(length: int) -> String:
    return String(length).with_variant(String(length, collation="C"), "postgresql")  # type: ignore[return-value]


class ObjectAccount(Base):
    """A project's account: its metadata (quotas, temp URL keys, user metadata)."""

    __tablename__ = "object_accounts"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Lower-cased header name -> value, as Swift stores account metadata.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timestamp: Mapped[str] = mapped_column(String(16))


class ObjectContainer(Base):
    """A container (an S3 bucket): its metadata and the running totals of its objects."""

    __tablename__ = "object_containers"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_object_containers_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(_name(256))
    object_count: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_used: Mapped[int] = mapped_column(BigInteger, default=0)
    # Lower-cased header name -> value: user metadata, ACLs, versioning, quotas, keys.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timestamp: Mapped[str] = mapped_column(String(16))


class StoredObject(Base):
    """One object: where its bytes are, and what Swift and S3 report about it."""

    __tablename__ = "object_objects"
    __table_args__ = (Index("ix_object_objects_delete_at", "delete_at"),)

    container_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("object_containers.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(_name(1024), primary_key=True)
    # The object's length as listed (a large object's: the sum of its segments).
    size: Mapped[int] = mapped_column(BigInteger)
    # The ETag as listed, unquoted (md5 hex; a multipart upload's "<md5>-<parts>").
    etag: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(256))
    timestamp: Mapped[str] = mapped_column(String(16))
    # The store's file holding the bytes (a manifest's JSON for a static large object).
    file_id: Mapped[str] = mapped_column(String(64), index=True)
    # Lower-cased header name -> value: user metadata, content-disposition and
    # -encoding, manifests, symlink targets.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Unix seconds at which the object expires (X-Delete-At).
    delete_at: Mapped[int | None] = mapped_column(BigInteger)


class FreedData(Base):
    """A file no row references any more, waiting for the reaper to remove it.

    Written in the transaction that drops the reference, so a crash between the
    commit and the unlink leaks nothing: the reaper finds it at the next pass.
    """

    __tablename__ = "object_freed_data"

    file_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    freed_at: Mapped[str] = mapped_column(String(16))


class MultipartUpload(Base):
    """An S3 multipart upload in progress."""

    __tablename__ = "object_uploads"
    __table_args__ = (Index("ix_object_uploads_container_name", "container_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    container_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("object_containers.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(_name(1024))
    user_id: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(256))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timestamp: Mapped[str] = mapped_column(String(16))


class UploadPart(Base):
    """One uploaded part of a multipart upload."""

    __tablename__ = "object_upload_parts"

    upload_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("object_uploads.id", ondelete="CASCADE"), primary_key=True
    )
    part_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str] = mapped_column(String(64), index=True)
    timestamp: Mapped[str] = mapped_column(String(16))
