"""Volume tables: volumes and their metadata, volume types and extra specs, quotas."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stackling.db.base import Base, UTCDateTime


def now() -> dt.datetime:
    """The current time to the microsecond, as Cinder keeps timestamps."""
    return dt.datetime.now(dt.UTC)


class VolumeType(Base):
    """A volume type: a name for a class of storage, with extra specs."""

    __tablename__ = "volume_types"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class VolumeTypeExtraSpec(Base):
    """One key/value extra spec of a volume type."""

    __tablename__ = "volume_type_extra_specs"

    type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Volume(Base):
    """A block device of `size` GiB kept by the backend of `host`."""

    __tablename__ = "volume_volumes"
    __table_args__ = (Index("ix_volume_volumes_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    # The size an extend in progress grows the volume to (counted by the quota already).
    extend_to: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30), index=True)
    availability_zone: Mapped[str] = mapped_column(String(255))
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    volume_type_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("volume_types.id"), index=True
    )
    # Cinder's host@backend#pool of the service that keeps the volume's data.
    host: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class VolumeMetadata(Base):
    """One key/value of a volume's user metadata."""

    __tablename__ = "volume_metadata"

    volume_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_volumes.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeQuota(Base):
    """A project's own limit for one quota resource (the defaults apply elsewhere)."""

    __tablename__ = "volume_quotas"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
