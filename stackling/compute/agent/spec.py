"""From instance rows to what the driver and the metadata trees need."""

from __future__ import annotations

import base64
from pathlib import Path

from stackling.compute import models as m
from stackling.compute.drivers.base import InstanceSpec, VolumeSpec
from stackling.compute.metadata.source import InstanceMetadataSource, KeyPair, VifInfo
from stackling.compute.service.networking import nics


def instance_spec(
    instance: m.Instance,
    *,
    image_path: Path | None,
    config_drive: Path | None,
    flavor: dict | None = None,
    volumes: tuple[VolumeSpec, ...] = (),
) -> InstanceSpec:
    """The driver's view of an instance (with `flavor` overriding the row's, for resizes)."""
    flavor = flavor or instance.flavor
    meta = instance.image_meta or {}
    return InstanceSpec(
        uuid=instance.uuid,
        name=instance.display_name,
        vcpus=int(flavor["vcpus"]),
        memory_mb=int(flavor["ram"]),
        root_gb=int(flavor.get("disk") or 0),
        ephemeral_gb=int(flavor.get("ephemeral") or 0),
        swap_mb=int(flavor.get("swap") or 0),
        image_path=image_path,
        image_format=str(meta.get("disk_format") or "qcow2"),
        config_drive=config_drive,
        nics=nics(instance.network_info),
        image_properties={k: str(v) for k, v in (meta.get("properties") or {}).items()},
        extra_specs=dict(flavor.get("extra_specs") or {}),
        volumes=volumes,
    )


def metadata_source(
    instance: m.Instance,
    metadata: dict[str, str],
    admin_pass: str | None = None,
    vifs: tuple[VifInfo, ...] = (),
) -> InstanceMetadataSource:
    """What the metadata trees say about an instance (its NICs are `vifs`)."""
    keys: tuple[KeyPair, ...] = ()
    if instance.key_name and instance.key_data:
        key_type = "x509" if instance.key_data.lstrip().startswith("-----BEGIN") else "ssh"
        keys = (KeyPair(instance.key_name, key_type, instance.key_data),)
    user_data = base64.b64decode(instance.user_data) if instance.user_data else None
    return InstanceMetadataSource(
        uuid=instance.uuid,
        name=instance.display_name,
        # Nova appends its dhcp_domain ("novalocal") to the hostname the guest is told.
        hostname=f"{instance.hostname}.novalocal",
        project_id=instance.project_id,
        user_id=instance.user_id,
        availability_zone=instance.availability_zone,
        launch_index=instance.launch_index,
        reservation_id=instance.reservation_id,
        created_at=instance.created_at,
        image_id=instance.image_ref,
        ec2_id=instance.id,
        flavor_name=str(instance.flavor.get("name", "")),
        key_pairs=keys,
        user_data=user_data,
        metadata=dict(metadata),
        admin_pass=admin_pass,
        password=instance.guest_password,
        security_groups=tuple(instance.security_groups or ()),
        root_device_name=instance.root_device_name,
        vifs=tuple(vifs),
    )
