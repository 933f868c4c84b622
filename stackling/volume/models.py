"""Volume tables: volumes, snapshots, attachments, backups, transfers, types, QoS, quotas."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
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
    # Where the data comes from: at most one of a snapshot, a volume, an image.
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_volid: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    # Cinder's admin metadata `readonly`: attachments get mode "ro".
    readonly: Mapped[bool] = mapped_column(Boolean, default=False)
    # The state a backup or upload returns the volume to (Cinder's previous_status).
    previous_status: Mapped[str | None] = mapped_column(String(30))
    # Why the volume went to an error state, for operators and the messages API.
    error_reason: Mapped[str | None] = mapped_column(Text)
    # An image upload in progress (os-volume_upload_image): the image it fills.
    upload_image_id: Mapped[str | None] = mapped_column(String(36))
    # The generic volume group the volume belongs to (3.13), if any.
    group_id: Mapped[str | None] = mapped_column(String(36), index=True)
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


class VolumeImageMetadata(Base):
    """One key/value of the image a volume was made from (Cinder's volume_glance_metadata)."""

    __tablename__ = "volume_image_metadata"

    volume_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_volumes.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Snapshot(Base):
    """A point-in-time copy of a volume, kept by the same backend as the volume."""

    __tablename__ = "volume_snapshots"
    __table_args__ = (Index("ix_volume_snapshots_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30), index=True)
    progress: Mapped[str] = mapped_column(String(16), default="0%")
    host: Mapped[str] = mapped_column(String(255), index=True)
    error_reason: Mapped[str | None] = mapped_column(Text)
    # The group snapshot this snapshot was taken for (3.14), if any.
    group_snapshot_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SnapshotMetadata(Base):
    """One key/value of a snapshot's user metadata."""

    __tablename__ = "volume_snapshot_metadata"

    snapshot_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Attachment(Base):
    """A volume's attachment to a server (Cinder's volume_attachment)."""

    __tablename__ = "volume_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    instance_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    attached_host: Mapped[str | None] = mapped_column(String(255))
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    # "rw" or "ro".
    attach_mode: Mapped[str] = mapped_column(String(2), default="rw")
    # reserved, attaching, attached, detaching, detached, error_attaching, error_detaching.
    attach_status: Mapped[str] = mapped_column(String(30))
    # The host's connector (os-brick's dict) and what the backend told it, as JSON.
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attach_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    detach_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Backup(Base):
    """A copy of a volume's data in the backup target; rows outlive their volume."""

    __tablename__ = "volume_backups"
    __table_args__ = (Index("ix_volume_backups_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    # The backup an incremental one builds on.
    parent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30), index=True)
    is_incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    container: Mapped[str | None] = mapped_column(String(255))
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    fail_reason: Mapped[str | None] = mapped_column(Text)
    # A restore in progress: the volume it writes into.
    restore_volume_id: Mapped[str | None] = mapped_column(String(36))
    data_timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class BackupMetadata(Base):
    """One key/value of a backup's user metadata (3.43)."""

    __tablename__ = "volume_backup_metadata"

    backup_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_backups.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Transfer(Base):
    """An offer of a volume to whichever project presents the auth key."""

    __tablename__ = "volume_transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    source_project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    salt: Mapped[str] = mapped_column(String(255))
    # sha256 of salt + auth key: the key itself is shown once and never stored.
    crypt_hash: Mapped[str] = mapped_column(String(255))
    no_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class QosSpecs(Base):
    """Named QoS limits a volume type can carry (consumer front-end, back-end or both)."""

    __tablename__ = "volume_qos_specs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    consumer: Mapped[str] = mapped_column(String(20), default="back-end")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class QosSpecValue(Base):
    """One key/value of a QoS specs entry (read_iops_sec, total_bytes_sec...)."""

    __tablename__ = "volume_qos_spec_values"

    qos_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_qos_specs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeTypeQos(Base):
    """The QoS specs a volume type is associated with (at most one per type)."""

    __tablename__ = "volume_type_qos"

    type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True
    )
    qos_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_qos_specs.id"), index=True)


class VolumeTypeProject(Base):
    """A project allowed to use a private volume type."""

    __tablename__ = "volume_type_projects"

    type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class VolumeQuotaClass(Base):
    """A limit of the `default` quota class (os-quota-class-sets)."""

    __tablename__ = "volume_quota_classes"

    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class VolumeGroupType(Base):
    """A group type: a name for a kind of generic volume group, with group specs."""

    __tablename__ = "volume_group_types"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class VolumeGroupTypeSpec(Base):
    """One key/value group spec of a group type."""

    __tablename__ = "volume_group_type_specs"

    group_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_group_types.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class VolumeGroup(Base):
    """A generic volume group: volumes of some volume types handled together."""

    __tablename__ = "volume_groups"
    __table_args__ = (Index("ix_volume_groups_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30), index=True)
    availability_zone: Mapped[str] = mapped_column(String(255))
    group_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_group_types.id"), index=True
    )
    # Where a group made by create-from-src came from (at most one of the two).
    group_snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_group_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class VolumeGroupVolumeType(Base):
    """A volume type the volumes of a group may have."""

    __tablename__ = "volume_group_volume_types"

    group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_groups.id", ondelete="CASCADE"), primary_key=True
    )
    volume_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True
    )


class VolumeGroupSnapshot(Base):
    """A snapshot of every volume of a group, taken together."""

    __tablename__ = "volume_group_snapshots"
    __table_args__ = (
        Index("ix_volume_group_snapshots_project_created", "project_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[str] = mapped_column(String(36), index=True)
    group_type_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
