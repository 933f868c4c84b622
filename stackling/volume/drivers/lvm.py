"""The lvm backend: one thin LV per volume in a thin pool of an operator's volume group.

A volume is the thin LV `volume-<id>`, a snapshot the thin LV `snap-<id>` (LVM reserves
names starting with "snapshot"). Every new LV is made under a `partial-` name and renamed
once complete, so a crash leaves at most a partial LV, which remove_partials() deletes at
start-up. Replacing a volume's data (revert, restore) builds the new LV as
`replacing-volume-<id>`, then removes the old LV and renames the new one; remove_partials()
rolls such a swap forward when a crash fell between the two.

Thin snapshots are metadata in the pool: snapshots, clones and volumes made from
snapshots cost no copy and depend on nothing, so any LV can be removed in any order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from stackling.common import commands
from stackling.volume.drivers.base import GIB, BackendError, qemu_format

TIMEOUT_S = 60.0
# Copies read and write whole volumes: far longer than a create may take.
COPY_TIMEOUT_S = 3600.0
DEFAULT_VOLUME_GROUP = "stackling-volumes"
DEFAULT_THIN_POOL = "stackling-pool"

_UUID = "[0-9a-fA-F-]{36}"
_VOLUME = re.compile(rf"^volume-({_UUID})$")
_SNAPSHOT = re.compile(rf"^snap-({_UUID})$")
_REPLACING = re.compile(rf"^replacing-(volume-{_UUID})$")
PARTIAL_PREFIX = "partial-"
# Without udev (containers, minimal hosts) LVM would wait forever for udev to make the
# device nodes: then it makes them itself and does not wait.
_NO_UDEV = "activation { udev_sync = 0 udev_rules = 0 }"


def _udev_running() -> bool:
    return Path("/run/udev/control").exists()


class LvmBackend:
    """Thin LVs in one thin pool, driven through the lvm2 command-line tools."""

    name = "lvm"

    def __init__(
        self,
        volume_group: str = DEFAULT_VOLUME_GROUP,
        thin_pool: str = DEFAULT_THIN_POOL,
        *,
        dev_root: Path = Path("/dev"),
    ) -> None:
        self.vg = volume_group
        self.pool = thin_pool
        # Where LVM makes its device nodes: /dev/<vg>/<lv>.
        self.dev_root = dev_root
        self._config = [] if _udev_running() else ["--config", _NO_UDEV]

    # --- naming ---

    def path_of(self, volume_id: str) -> Path:
        """The volume's block device."""
        return self.dev_root / self.vg / f"volume-{volume_id}"

    def _lv(self, name: str) -> str:
        return f"{self.vg}/{name}"

    # --- lvm2 ---

    async def _run(self, argv: list[str], *, timeout_s: float = TIMEOUT_S) -> str:
        return await commands.run(argv, timeout_s=timeout_s, error=BackendError)

    async def _lvm(self, tool: str, *args: str) -> str:
        return await self._run([tool, *self._config, *args])

    async def _lvs(self) -> dict[str, int]:
        """Every LV of the volume group drawn from the pool: name -> size in bytes."""
        try:
            out = await self._lvm(
                "lvs",
                "--reportformat",
                "json",
                "--units",
                "b",
                "--nosuffix",
                "-o",
                "lv_name,lv_size,pool_lv",
                self.vg,
            )
        except BackendError as exc:
            if "not found" in str(exc):
                raise BackendError(
                    f"volume group {self.vg!r} not found: create it (vgcreate) "
                    "or set volume.lvm_volume_group"
                ) from exc
            raise
        rows = json.loads(out)["report"][0]["lv"]
        if not any(row["lv_name"] == self.pool for row in rows):
            raise BackendError(
                f"thin pool {self.vg}/{self.pool} not found: create it "
                f"(lvcreate -T {self.vg}/{self.pool} -L <size>) or set volume.lvm_thin_pool"
            )
        return {row["lv_name"]: int(row["lv_size"]) for row in rows if row["pool_lv"] == self.pool}

    async def _create_thin(self, name: str, size_gb: int) -> None:
        await self._lvm("lvcreate", "-T", self._lv(self.pool), "-V", f"{size_gb}G", "-n", name)

    async def _snapshot(self, origin: str, name: str, *, activate: bool) -> None:
        """A thin snapshot; `activate` clears its activation skip so it opens like a volume."""
        skip = "n" if activate else "y"
        await self._lvm("lvcreate", "-s", self._lv(origin), "-k", skip, "-n", name)
        if activate:
            await self._activate(name)

    async def _activate(self, name: str) -> None:
        # -K: snapshots keep LVM's activation skip flag; activating is a no-op when active.
        await self._lvm("lvchange", "-ay", "-K", self._lv(name))

    async def _grow(self, name: str, size_gb: int, held: dict[str, int]) -> None:
        if held[name] < size_gb * GIB:
            await self._lvm("lvextend", "-L", f"{size_gb}G", self._lv(name))

    async def _remove(self, name: str) -> None:
        await self._lvm("lvremove", "-f", self._lv(name))

    async def _rename(self, old: str, new: str) -> None:
        await self._lvm("lvrename", self.vg, old, new)

    async def _remove_if_held(self, name: str) -> None:
        if name in await self._lvs():
            await self._remove(name)

    async def _swap_in(self, name: str, replacing: str) -> None:
        """Put `replacing` in the place of `name`.

        LVM cannot rename over an existing LV, so this is two steps; a crash between them
        leaves only `replacing-...`, which remove_partials() renames into place.
        """
        if name in await self._lvs():
            await self._remove(name)
        await self._rename(replacing, name)

    def _missing(self, what: str, ident: str) -> BackendError:
        return BackendError(f"{what} {ident} has no LV in {self.vg}/{self.pool}")

    # --- volumes ---

    async def create(self, volume_id: str, size_gb: int) -> None:
        """A thin LV made under a partial name, then renamed into place."""
        final = f"volume-{volume_id}"
        held = await self._lvs()
        if final in held:
            return
        partial = PARTIAL_PREFIX + final
        if partial in held:
            await self._remove(partial)
        await self._create_thin(partial, size_gb)
        await self._rename(partial, final)

    async def extend(self, volume_id: str, size_gb: int) -> None:
        """lvextend, unless the LV is that big already."""
        name = f"volume-{volume_id}"
        held = await self._lvs()
        if name not in held:
            raise self._missing("volume", volume_id)
        await self._grow(name, size_gb, held)

    async def delete(self, volume_id: str) -> None:
        """lvremove the LV and any partial or replacing one."""
        final = f"volume-{volume_id}"
        held = await self._lvs()
        for name in (final, PARTIAL_PREFIX + final, f"replacing-{final}"):
            if name in held:
                await self._remove(name)

    async def size_of(self, volume_id: str) -> int | None:
        """The LV's size in GiB, from lvs."""
        size = (await self._lvs()).get(f"volume-{volume_id}")
        return None if size is None else size // GIB

    async def list_volumes(self) -> set[str]:
        """Ids named by the complete volume LVs in the pool."""
        return {m.group(1) for name in await self._lvs() if (m := _VOLUME.match(name))}

    async def remove_partials(self) -> int:
        """Remove LVs interrupted creates left; finish swaps interrupted after their removal."""
        held = await self._lvs()
        done = 0
        for name in held:
            if name.startswith(PARTIAL_PREFIX):
                await self._remove(name)
                done += 1
            elif match := _REPLACING.match(name):
                # Complete, so either side is consistent: the old LV wins while it exists
                # (the agent repeats the revert or restore), else the new one is the volume.
                if match.group(1) in held:
                    await self._remove(name)
                else:
                    await self._rename(name, match.group(1))
                done += 1
        return done

    # --- snapshots and clones ---

    async def create_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """A thin snapshot of the volume's LV, under a partial name, then renamed."""
        # LVM suspends the origin while it snapshots: consistent even while a guest writes.
        final = f"snap-{snapshot_id}"
        held = await self._lvs()
        if final in held:
            return
        if f"volume-{volume_id}" not in held:
            raise self._missing("volume", volume_id)
        partial = PARTIAL_PREFIX + final
        if partial in held:
            await self._remove(partial)
        await self._snapshot(f"volume-{volume_id}", partial, activate=False)
        await self._rename(partial, final)

    async def delete_snapshot(self, snapshot_id: str) -> None:
        """lvremove the snapshot's LV (and any partial one)."""
        held = await self._lvs()
        for name in (f"snap-{snapshot_id}", f"{PARTIAL_PREFIX}snap-{snapshot_id}"):
            if name in held:
                await self._remove(name)

    async def list_snapshots(self) -> set[str]:
        """Ids named by the complete snapshot LVs in the pool."""
        return {m.group(1) for name in await self._lvs() if (m := _SNAPSHOT.match(name))}

    async def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        """A thin snapshot of the snapshot, grown to `size_gb`, renamed into place."""
        await self._copy_into(volume_id, f"snap-{snapshot_id}", size_gb, ("snapshot", snapshot_id))

    async def clone(self, volume_id: str, source_volume_id: str, size_gb: int) -> None:
        """A thin snapshot of the source volume, grown to `size_gb`, renamed into place."""
        source = f"volume-{source_volume_id}"
        await self._copy_into(volume_id, source, size_gb, ("volume", source_volume_id))

    async def _copy_into(
        self, volume_id: str, origin: str, size_gb: int, what: tuple[str, str]
    ) -> None:
        final = f"volume-{volume_id}"
        held = await self._lvs()
        if final in held:
            return
        if origin not in held:
            raise self._missing(*what)
        partial = PARTIAL_PREFIX + final
        if partial in held:
            await self._remove(partial)
        await self._snapshot(origin, partial, activate=True)
        await self._grow(partial, size_gb, await self._lvs())
        await self._rename(partial, final)

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """Swap the volume's LV for a thin snapshot of the snapshot, at the volume's size.

        lvconvert --merge would consume the snapshot, which Cinder keeps after a revert;
        a thin snapshot of it costs nothing, and the volume is detached, so no reader
        holds the old LV while it is swapped out.
        """
        name, snap = f"volume-{volume_id}", f"snap-{snapshot_id}"
        held = await self._lvs()
        if name not in held:
            raise self._missing("volume", volume_id)
        if snap not in held:
            raise self._missing("snapshot", snapshot_id)
        replacing = f"replacing-{name}"
        if replacing in held:
            await self._remove(replacing)
        await self._snapshot(snap, replacing, activate=True)
        await self._grow(replacing, held[name] // GIB, await self._lvs())
        await self._swap_in(name, replacing)

    # --- images ---

    async def import_image(
        self, volume_id: str, source: Path, source_format: str, size_gb: int, *, replace: bool
    ) -> None:
        """qemu-img convert into a new partial LV, then rename it into place (or swap it in)."""
        final = f"volume-{volume_id}"
        held = await self._lvs()
        if final in held and not replace:
            return
        fmt = qemu_format(source_format, self.name)
        info = json.loads(
            await self._run(["qemu-img", "info", "-f", fmt, "--output=json", str(source)])
        )
        if int(info["virtual-size"]) > size_gb * GIB:
            raise BackendError(
                f"image of {info['virtual-size']} bytes does not fit in {size_gb} GiB"
            )
        partial = PARTIAL_PREFIX + final
        if partial in held:
            await self._remove(partial)
        await self._create_thin(partial, size_gb)
        try:
            await self._activate(partial)
            # -n writes into the LV as it is; a new thin LV reads as zeros, so
            # --target-is-zero skips writing zeros and keeps the LV thin.
            await self._run(
                [
                    "qemu-img",
                    "convert",
                    "-q",
                    "-n",
                    "--target-is-zero",
                    "-f",
                    fmt,
                    "-O",
                    "raw",
                    str(source),
                    str(self.dev_root / self.vg / partial),
                ],
                timeout_s=COPY_TIMEOUT_S,
            )
            if replace and final in held:
                replacing = f"replacing-{final}"
                if replacing in held:
                    await self._remove(replacing)
                await self._rename(partial, replacing)
                await self._swap_in(final, replacing)
            else:
                await self._rename(partial, final)
        finally:
            await self._remove_if_held(partial)

    async def export_image(self, volume_id: str, dest: Path, dest_format: str) -> None:
        """qemu-img convert the volume's LV to `dest`; -U because a guest may hold it open."""
        name = f"volume-{volume_id}"
        if name not in await self._lvs():
            raise self._missing("volume", volume_id)
        fmt = qemu_format(dest_format, self.name)
        await self._activate(name)
        source = str(self.path_of(volume_id))
        await self._run(
            ["qemu-img", "convert", "-q", "-U", "-f", "raw", "-O", fmt, source, str(dest)],
            timeout_s=COPY_TIMEOUT_S,
        )

    # --- attachments ---

    def connection(self, volume_id: str) -> dict[str, Any]:
        """Cinder's connection_info: the LV's block device, opened by the compute host."""
        return {
            "driver_volume_type": "block",
            "data": {
                "device_path": str(self.path_of(volume_id)),
                "format": "raw",
                "volume_id": volume_id,
            },
        }
