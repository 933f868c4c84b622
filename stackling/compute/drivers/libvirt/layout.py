"""An instance's disks: which files it has, and in which order its domain sees them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stackling.compute.drivers.base import DriverError, InstanceSpec, VolumeSpec
from stackling.compute.drivers.libvirt import disks
from stackling.compute.drivers.libvirt.disks import InstanceFiles
from stackling.compute.drivers.libvirt.xml import (
    Disk,
    DomainConfig,
    VolumeDisk,
    disk_bus,
    vif_model,
)

IMAGE_FORMATS = ("qcow2", "raw")
MIB = 1 << 20


def config_drive_disk(path: Path) -> Disk:
    """The config drive: a read-only CD-ROM on IDE, which every guest kernel can read."""
    return Disk(path.absolute(), "raw", "ide", device="cdrom", readonly=True)


def boots_from_volume(spec: InstanceSpec) -> bool:
    """Whether a volume is the instance's root disk (then it has no local one)."""
    return any(v.boot_index == 0 for v in spec.volumes)


def disks_for(
    spec: InstanceSpec, files: InstanceFiles, *, rescue: bool = False
) -> tuple[Disk, ...]:
    """The domain's disks: root (or, rescued, the rescue disk then root), extras, config drive.

    A rescued guest boots from the rescue disk and sees its own root disk second,
    with no ephemeral or swap disk, as Nova does. A guest booted from a volume has
    no local root disk: the volume takes its place.
    """
    bus = disk_bus(spec)
    disks: list[Disk] = []
    if rescue and boots_from_volume(spec):
        raise DriverError(f"instance {spec.uuid} boots from a volume and cannot be rescued")
    if rescue:
        disks.append(Disk(files.rescue, "qcow2", bus, boot=True))
        disks.append(Disk(files.disk, "qcow2", bus))
    else:
        if not boots_from_volume(spec):
            disks.append(Disk(files.disk, "qcow2", bus, boot=True))
        if spec.ephemeral_gb > 0:
            disks.append(Disk(files.ephemeral, "raw", bus))
        if spec.swap_mb > 0:
            disks.append(Disk(files.swap, "raw", bus))
    if spec.config_drive is not None:
        disks.append(config_drive_disk(spec.config_drive))
    return tuple(disks)


def domain_config(
    spec: InstanceSpec,
    files: InstanceFiles,
    *,
    owner: str,
    virt_type: str,
    cache: str,
    run_as: tuple[int, int] | None,
    rescue: bool = False,
    root_gb: int | None = None,
    volumes: tuple[VolumeDisk, ...] | None = None,
) -> DomainConfig:
    """The domain configuration of `spec` on this host.

    `volumes` are spec.volumes with the cache mode each one's storage allows
    (default: cache=none for all).
    """
    if spec.vcpus < 1 or spec.memory_mb < 1:
        raise DriverError(f"invalid flavor: {spec.vcpus} vCPUs, {spec.memory_mb} MiB")
    if spec.image_format not in IMAGE_FORMATS:
        raise DriverError(f"unsupported image format {spec.image_format!r}")
    return DomainConfig(
        uuid=spec.uuid,
        owner=owner,
        name=spec.name,
        virt_type=virt_type,
        vcpus=spec.vcpus,
        memory_mb=spec.memory_mb,
        disks=disks_for(spec, files, rescue=rescue),
        console_log=files.console,
        nics=spec.nics,
        volumes=tuple(VolumeDisk(v) for v in spec.volumes) if volumes is None else volumes,
        vif_model=vif_model(spec),
        root_gb=spec.root_gb if root_gb is None else root_gb,
        rescue=rescue,
        cache=cache,
        run_as=run_as,
    )


async def prepare_disks(spec: InstanceSpec, files: InstanceFiles) -> None:
    """Create whichever of the instance's disk files are missing (existing ones are kept)."""
    if spec.image_format not in IMAGE_FORMATS:
        raise DriverError(f"unsupported image format {spec.image_format!r}")
    if spec.config_drive is not None and not await asyncio.to_thread(spec.config_drive.is_file):
        raise DriverError(f"config drive {spec.config_drive} does not exist")
    await asyncio.to_thread(files.dir.mkdir, parents=True, exist_ok=True)
    if not boots_from_volume(spec) and not await asyncio.to_thread(files.disk.exists):
        if spec.image_path is None:
            raise DriverError(f"instance {spec.uuid} has no image to boot from")
        await disks.create_overlay(
            files.disk, spec.image_path, spec.image_format, spec.root_gb * disks.GIB
        )
    if spec.ephemeral_gb > 0:
        await disks.create_blank(files.ephemeral, spec.ephemeral_gb * disks.GIB, "ephemeral")
    if spec.swap_mb > 0:
        await disks.create_blank(files.swap, spec.swap_mb * MIB, "swap")


async def volume_disks(spec: InstanceSpec) -> tuple[VolumeDisk, ...]:
    """The instance's volumes, each with the cache mode its storage allows."""
    return tuple([await volume_disk(v) for v in spec.volumes])


async def volume_disk(volume: VolumeSpec) -> VolumeDisk:
    """A volume with cache=none where its file takes O_DIRECT, else writeback (as Nova)."""
    if volume.kind != "file":
        return VolumeDisk(volume, "none")
    direct = await asyncio.to_thread(disks.reads_direct, Path(volume.path))
    return VolumeDisk(volume, "none" if direct else "writeback")
