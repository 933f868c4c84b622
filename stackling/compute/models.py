"""Compute tables: flavors, key pairs, instances and what hangs off them, hosts and groups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from stackling.db.base import Base, UTCDateTime


def now() -> dt.datetime:
    """The current time, to the microsecond (Nova shows changes-since precise timestamps)."""
    return dt.datetime.now(dt.UTC)


class Flavor(Base):
    """A flavor: the size of a server."""

    __tablename__ = "compute_flavors"

    # Nova's integer primary key orders listings; `flavorid` is what the API shows as id.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class FlavorExtraSpec(Base):
    """A key/value of a flavor's extra specs."""

    __tablename__ = "compute_flavor_extra_specs"

    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("compute_flavors.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(Base):
    """A project allowed to use a private flavor."""

    __tablename__ = "compute_flavor_projects"

    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("compute_flavors.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class KeyPair(Base):
    """A user's public key, named per user."""

    __tablename__ = "compute_keypairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(10), default="ssh")
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    __table_args__ = (UniqueConstraint("user_id", "name"),)


class Instance(Base):
    """A server. Rows stay after delete (deleted=True), as Nova's soft-deleted rows do."""

    __tablename__ = "compute_instances"
    __table_args__ = (
        Index("ix_compute_instances_project_deleted", "project_id", "deleted"),
        Index("ix_compute_instances_host_deleted", "host", "deleted"),
        Index("ix_compute_instances_created", "created_at", "id"),
        Index("ix_compute_instances_updated", "updated_at"),
    )

    # Nova's integer id: the EC2 id (i-0000000a) and a stable order for pagination.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    display_description: Mapped[str | None] = mapped_column(Text)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    reservation_id: Mapped[str] = mapped_column(String(255), index=True)
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))
    node: Mapped[str | None] = mapped_column(String(255))
    # The flavor as it was when the server was built (Nova keeps a copy, not a reference).
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    image_ref: Mapped[str] = mapped_column(String(255), default="")
    # The image's properties at build time (hw_* keys, min_ram...).
    image_meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    vm_state: Mapped[str] = mapped_column(String(255), default="building")
    task_state: Mapped[str | None] = mapped_column(String(255))
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    # Arguments of the action task_state names (snapshot image id, reboot type...).
    task_args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(255))
    locked_reason: Mapped[str | None] = mapped_column(String(255))
    access_ip_v4: Mapped[str | None] = mapped_column(String(39))
    access_ip_v6: Mapped[str | None] = mapped_column(String(39))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    security_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    requested_networks: Mapped[Any] = mapped_column(JSON)
    # Network info as the API shows it under "addresses" (network name -> addresses).
    network_info: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Hosts that already failed to build this instance (the scheduler avoids them).
    retry_hosts: Mapped[list[str]] = mapped_column(JSON, default=list)
    admin_password: Mapped[str | None] = mapped_column(Text)
    # The encrypted password a guest posted to the metadata service.
    guest_password: Mapped[str | None] = mapped_column(Text)
    root_device_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    launched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class InstanceMetadata(Base):
    """A key/value of a server's user metadata."""

    __tablename__ = "compute_instance_metadata"

    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("compute_instances.uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class InstanceTag(Base):
    """A tag on a server."""

    __tablename__ = "compute_instance_tags"
    __table_args__ = (Index("ix_compute_instance_tags_tag", "tag"),)

    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("compute_instances.uuid", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(80), primary_key=True)


class BlockDeviceMapping(Base):
    """A volume (or the boot volume) a server has, as Nova's block_device_mapping."""

    __tablename__ = "compute_block_device_mappings"

    # Nova's BDM uuid: os-volume_attachments shows it as `id` from 2.89 on.
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("compute_instances.uuid", ondelete="CASCADE"), index=True
    )
    # "volume", "image", "snapshot" or "blank"; only "volume" destinations live here.
    source_type: Mapped[str] = mapped_column(String(20))
    destination_type: Mapped[str] = mapped_column(String(20), default="volume")
    volume_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # Cinder's attachment id while the volume is (being) attached.
    attachment_id: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    volume_size: Mapped[int | None] = mapped_column(Integer)
    volume_type: Mapped[str | None] = mapped_column(String(255))
    device_name: Mapped[str | None] = mapped_column(String(255))
    disk_bus: Mapped[str | None] = mapped_column(String(20))
    device_type: Mapped[str | None] = mapped_column(String(20))
    boot_index: Mapped[int | None] = mapped_column(Integer)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    tag: Mapped[str | None] = mapped_column(String(255))
    # What the volume service told the host to open, as JSON.
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class InstanceFault(Base):
    """Why an operation on a server failed; the newest is shown as the server's fault."""

    __tablename__ = "compute_instance_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("compute_instances.uuid", ondelete="CASCADE"), index=True
    )
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class InstanceAction(Base):
    """A user action on a server (create, reboot, resize...), for os-instance-actions."""

    __tablename__ = "compute_instance_actions"
    __table_args__ = (Index("ix_compute_instance_actions_instance", "instance_uuid", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    message: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    finish_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class InstanceActionEvent(Base):
    """One step of an action as done by a service (compute__do_build_and_run_instance...)."""

    __tablename__ = "compute_instance_action_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("compute_instance_actions.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(255))
    result: Mapped[str | None] = mapped_column(String(255))
    traceback: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    finish_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ServerGroup(Base):
    """A server group with its placement policy."""

    __tablename__ = "compute_server_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(255))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class ServerGroupMember(Base):
    """A server in a group."""

    __tablename__ = "compute_server_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("compute_server_groups.id", ondelete="CASCADE"), primary_key=True
    )
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class ComputeService(Base):
    """A service on a host (nova-compute, nova-scheduler...), for os-services."""

    __tablename__ = "compute_services"
    __table_args__ = (UniqueConstraint("host", "binary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_up: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ComputeNode(Base):
    """A hypervisor: what one compute host offers (also its placement resource provider)."""

    __tablename__ = "compute_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    hypervisor_hostname: Mapped[str] = mapped_column(String(255))
    hypervisor_type: Mapped[str] = mapped_column(String(255))
    hypervisor_version: Mapped[int] = mapped_column(Integer, default=0)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    host_ip: Mapped[str] = mapped_column(String(39), default="127.0.0.1")
    cpu_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Aggregate(Base):
    """A host aggregate; its availability_zone metadata makes it an AZ."""

    __tablename__ = "compute_aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AggregateHost(Base):
    """A host in an aggregate."""

    __tablename__ = "compute_aggregate_hosts"

    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("compute_aggregates.id", ondelete="CASCADE"), primary_key=True
    )
    host: Mapped[str] = mapped_column(String(255), primary_key=True)


class AggregateMetadata(Base):
    """A key/value of an aggregate."""

    __tablename__ = "compute_aggregate_metadata"

    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("compute_aggregates.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Quota(Base):
    """A project's (or a user's within it) limit on one resource; absent means the default."""

    __tablename__ = "compute_quotas"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # "" for the project-wide limit.
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True, default="")
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(Base):
    """A limit of the `default` quota class (os-quota-class-sets)."""

    __tablename__ = "compute_quota_classes"

    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class Migration(Base):
    """A resize (or move) of a server, for os-migrations and revert."""

    __tablename__ = "compute_migrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    source_compute: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    source_node: Mapped[str | None] = mapped_column(String(255))
    dest_node: Mapped[str | None] = mapped_column(String(255))
    old_flavor_id: Mapped[str | None] = mapped_column(String(255))
    new_flavor_id: Mapped[str | None] = mapped_column(String(255))
    migration_type: Mapped[str] = mapped_column(String(32), default="resize")
    status: Mapped[str] = mapped_column(String(32), default="pre-migrating")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
