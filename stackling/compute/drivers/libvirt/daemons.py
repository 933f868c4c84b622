"""Start virtlogd and libvirtd as daemons when they are not answering (there may be no systemd).

Several Stackling processes may race to do this; the daemons' own pid-file locks
let only one of each run, so a failed start is not an error as long as the socket
answers afterwards.
"""

from __future__ import annotations

import asyncio
import grp
import logging
import os
import shutil
import socket
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from stackling.compute.drivers.base import DriverError

LOG = logging.getLogger(__name__)

RUN_DIR = Path("/var/run/libvirt")
START_TIMEOUT_S = 30.0
# URIs served by the system daemons on this machine (a remote or session URI is not ours).
LOCAL_SYSTEM_URIS = ("qemu:///system", "qemu+unix:///system")


@dataclass(frozen=True, slots=True)
class Daemon:
    """A daemon we may start, and the socket that shows it is up."""

    binary: str
    socket: Path


KVM_DEVICE = Path("/dev/kvm")
KVM_GROUP = "kvm"
VIRTLOGD = Daemon("virtlogd", RUN_DIR / "virtlogd-sock")
LIBVIRTD = Daemon("libvirtd", RUN_DIR / "libvirt-sock")


def answers(path: Path) -> bool:
    """Whether something accepts connections on the unix socket at `path`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def manages_local_daemons(uri: str) -> bool:
    """Whether `uri` is served by this machine's system libvirtd (which we may start)."""
    return uri.split("?", 1)[0] in LOCAL_SYSTEM_URIS


async def _start(daemon: Daemon, timeout_s: float) -> None:
    binary = shutil.which(daemon.binary) or shutil.which(daemon.binary, path="/usr/sbin:/sbin")
    if binary is None:
        raise DriverError(f"{daemon.binary} is not running and is not installed")
    LOG.info("starting %s -d (its socket %s does not answer)", binary, daemon.socket)
    # stderr goes to a file, not a pipe: a daemonised child could hold a pipe open forever.
    with tempfile.TemporaryFile() as errors:
        proc = await asyncio.create_subprocess_exec(
            binary,
            "-d",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
        try:
            rc = await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            rc = None
        errors.seek(0)
        detail = errors.read().decode(errors="replace").strip()[-2000:]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(answers, daemon.socket):
            return
        await asyncio.sleep(0.1)
    how = "timed out" if rc is None else f"exited with {rc}"
    raise DriverError(
        f"{daemon.binary} -d {how} and {daemon.socket} does not answer after {timeout_s:g}s"
        + (f": {detail}" if detail else "")
    )


def ensure_kvm_device_access(device: Path = KVM_DEVICE) -> None:
    """Give group kvm access to /dev/kvm, as Debian's udev rules do where udev runs.

    Without udev the device stays root-only: libvirtd then finds KVM unusable for
    its QEMU user while its capability probe (which can open it) says KVM works,
    and it re-probes QEMU for seconds on every call that needs capabilities.
    """
    try:
        info = device.stat()
        gid = grp.getgrnam(KVM_GROUP).gr_gid
    except (OSError, KeyError):
        return
    if not stat.S_ISCHR(info.st_mode) or os.geteuid() != 0:
        return
    if info.st_gid == gid and info.st_mode & 0o060 == 0o060:
        return
    LOG.warning("giving group %s read-write access to %s (udev would have)", KVM_GROUP, device)
    try:
        os.chown(device, -1, gid)
        os.chmod(device, stat.S_IMODE(info.st_mode) | 0o060)
    except OSError as exc:
        LOG.warning("cannot change the permissions of %s: %s", device, exc)


async def ensure_daemons(timeout_s: float = START_TIMEOUT_S) -> None:
    """Make sure virtlogd (console logs) and libvirtd answer, starting them if needed."""
    await asyncio.to_thread(ensure_kvm_device_access)
    for daemon in (VIRTLOGD, LIBVIRTD):
        if not await asyncio.to_thread(answers, daemon.socket):
            await _start(daemon, timeout_s)
