"""Build the test guest: Debian kernel + busybox + dropbear in an initramfs, on a syslinux disk."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import lzma
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path, PurePosixPath

from stackling.image.testimage import debs, disk
from stackling.image.testimage.cpio import Initramfs
from stackling.image.testimage.elf import dynamic_info, modinfo
from stackling.image.testimage.errors import TestImageBuildError

Progress = Callable[[str, float], None]

IMAGE_FILENAME = "stackling-test-image.qcow2"
# Bump to force a rebuild of cached images when something outside this package's
# files changes what should be in them.
FORMAT_VERSION = 1

GUEST_PACKAGES = ("busybox-static", "dropbear-bin")
GUEST_PROGRAMS = ("usr/sbin/dropbear", "usr/bin/dropbearkey", "usr/bin/dbclient")
# The guest cannot do without these; a kernel that lacks them is refused.
REQUIRED_MODULES = ("virtio_pci", "virtio_net", "virtio_blk")
# Config drive on IDE/SCSI/virtio CD-ROM or disk, VFAT config drives, entropy, balloon,
# and the ACPI power button so `stop` is a clean poweroff. Skipped when absent.
OPTIONAL_MODULES = (
    "virtio_scsi",
    "sd_mod",
    "sr_mod",
    "ata_piix",
    "ata_generic",
    "isofs",
    "vfat",
    "nls_cp437",
    "nls_ascii",  # Debian's default FAT iocharset: VFAT config drives need it to mount
    "nls_utf8",
    "virtio_rng",
    "virtio_balloon",
    "evdev",
    "button",
)
# scsi_mod.scan=sync: a virtio-scsi CD-ROM is visible as soon as its module is loaded,
# so the init script never has to guess how long to wait for the config drive.
KERNEL_APPEND = "console=tty0 console=ttyS0,115200n8 scsi_mod.scan=sync panic=10"
LIB_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "usr/lib64", "lib")
GUEST_LIB_DIR = "lib/x86_64-linux-gnu"

_ETC_FILES: dict[str, tuple[str, int]] = {
    "etc/passwd": ("root:x:0:0:root:/root:/bin/sh\n", 0o644),
    "etc/group": ("root:x:0:\ntty:x:5:\n", 0o644),
    "etc/shadow": ("root:*:19000:0:99999:7:::\n", 0o600),
    "etc/shells": ("/bin/sh\n/bin/ash\n", 0o644),
    "etc/nsswitch.conf": ("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n", 0o644),
    "etc/hosts": ("127.0.0.1 localhost\n", 0o644),
    "etc/resolv.conf": ("", 0o644),
    "etc/os-release": (
        'NAME="Stackling test guest"\nID=stackling-test\nPRETTY_NAME="Stackling test guest"\n',
        0o644,
    ),
    "etc/profile": (
        "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='\\u@\\h:\\w\\$ '\n",
        0o644,
    ),
    "etc/inittab": (
        "::ctrlaltdel:/sbin/reboot\n::shutdown:/bin/umount -a -r\nttyS0::respawn:-/bin/sh\n",
        0o644,
    ),
    "etc/acpi/PWRF/00000080": ("#!/bin/sh\nexec poweroff\n", 0o755),
}


def default_cache_dir() -> Path:
    """Where downloads and the default image live: $XDG_CACHE_HOME/stackling/test-image."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stackling" / "test-image"


def default_test_image_path() -> Path:
    """Where the built test image is kept by default."""
    return default_cache_dir() / IMAGE_FILENAME


def _resource(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def build_stamp() -> str:
    """A digest of everything that decides the image's content (scripts, builder code)."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}\n{KERNEL_APPEND}\n".encode())
    package = resources.files(__package__)
    for entry in sorted(package.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith((".py", ".sh")):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return digest.hexdigest()


def _stamp_path(image: Path) -> Path:
    return image.with_name(image.name + ".stamp")


def _report(progress: Progress | None, step: str, fraction: float) -> None:
    if progress is not None:
        progress(step, min(max(fraction, 0.0), 1.0))


def resolve_in_root(root: Path, path: str) -> Path:
    """`path` inside an unpacked tree, following symlinks (absolute ones stay inside `root`)."""
    parts = list(PurePosixPath("/", path).parts[1:])
    current = root
    hops = 0
    while parts:
        part = parts.pop(0)
        candidate = current / part
        if candidate.is_symlink():
            hops += 1
            if hops > 40:
                raise TestImageBuildError(f"symlink loop resolving {path}")
            target = PurePosixPath(os.readlink(candidate))
            if target.is_absolute():
                current = root
                parts = list(target.parts[1:]) + parts
            else:
                parts = list(target.parts) + parts
        elif part == "..":
            current = current.parent if current != root else root
        elif part != ".":
            current = candidate
    return current


def _find_library(root: Path, soname: str) -> Path | None:
    for directory in LIB_DIRS:
        candidate = root / directory / soname
        if candidate.exists():
            return resolve_in_root(root, f"{directory}/{soname}")
    return None


def add_programs(image: Initramfs, root: Path, programs: tuple[str, ...]) -> list[str]:
    """Copy programs and the shared libraries they need (transitively); the sonames added."""
    pending: list[Path] = []
    for program in programs:
        path = resolve_in_root(root, program)
        if not path.is_file():
            raise TestImageBuildError(f"{program} is missing from the unpacked packages")
        image.add_file(program, path.read_bytes(), 0o755)
        pending.append(path)
    added: list[str] = []
    while pending:
        info = dynamic_info(pending.pop().read_bytes())
        if info.interpreter and info.interpreter not in image:
            interp = resolve_in_root(root, info.interpreter)
            if not interp.is_file():
                raise TestImageBuildError(f"interpreter {info.interpreter} not in the packages")
            guest_path = f"{GUEST_LIB_DIR}/{interp.name}"
            image.add_file(guest_path, interp.read_bytes(), 0o755)
            if info.interpreter.lstrip("/") != guest_path:
                image.symlink(info.interpreter, f"/{guest_path}")
        for soname in info.needed:
            if f"{GUEST_LIB_DIR}/{soname}" in image:
                continue
            lib = _find_library(root, soname)
            if lib is None or not lib.is_file():
                raise TestImageBuildError(f"shared library {soname} not found in the packages")
            image.add_file(f"{GUEST_LIB_DIR}/{soname}", lib.read_bytes(), 0o755)
            added.append(soname)
            pending.append(lib)
    return added


def module_name(filename: str) -> str:
    """The kernel's name for a module file (`virtio-rng.ko.xz` -> `virtio_rng`)."""
    return filename.split(".ko", 1)[0].replace("-", "_")


def module_load_order(
    wanted: list[str], depends: dict[str, list[str]], builtin: set[str]
) -> list[str]:
    """`wanted` modules and their dependencies, each after what it depends on."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in builtin:
            return
        if name not in depends:
            raise TestImageBuildError(f"kernel module {name} is neither a module nor built in")
        if name in visiting:
            raise TestImageBuildError(f"kernel module dependency cycle at {name}")
        visiting.add(name)
        for dep in depends[name]:
            visit(dep)
        visiting.discard(name)
        order.append(name)

    for name in wanted:
        visit(name)
    return order


def _read_module(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".zst"):
        raise TestImageBuildError(f"{path.name}: zstd-compressed modules are not supported")
    return data


def add_modules(image: Initramfs, root: Path) -> tuple[str, list[str]]:
    """Copy the guest's kernel modules and their load order; the kernel version and the order."""
    versions = sorted(p.name for p in (root / "lib/modules").iterdir() if p.is_dir())
    if len(versions) != 1:
        raise TestImageBuildError(f"expected one kernel in the packages, found {versions}")
    kver = versions[0]
    base = root / "lib/modules" / kver
    files = {module_name(p.name): p for p in base.rglob("*.ko*") if p.is_file()}
    builtin_file = base / "modules.builtin"
    builtin = (
        {module_name(PurePosixPath(line).name) for line in builtin_file.read_text().split()}
        if builtin_file.is_file()
        else set()
    )
    data: dict[str, bytes] = {}
    depends: dict[str, list[str]] = {}

    def load(name: str) -> None:
        if name in data or name not in files:
            return
        data[name] = _read_module(files[name])
        deps = [d for d in modinfo(data[name]).get("depends", "").split(",") if d]
        depends[name] = deps
        for dep in deps:
            load(dep)

    for name in REQUIRED_MODULES:
        if name not in files and name not in builtin:
            raise TestImageBuildError(f"the kernel {kver} has no {name} driver")
    wanted = [n for n in (*REQUIRED_MODULES, *OPTIONAL_MODULES) if n in files]
    for name in wanted:
        load(name)
    order = module_load_order(wanted, depends, builtin)
    listing = []
    for name in order:
        rel = files[name].relative_to(base).as_posix().split(".ko", 1)[0] + ".ko"
        image.add_file(f"lib/modules/{kver}/{rel}", data[name])
        listing.append(rel)
    image.add_file("etc/stackling/modules", ("\n".join(listing) + "\n").encode())
    return kver, order


def assemble_initramfs(root: Path) -> tuple[Initramfs, str]:
    """The guest's whole root file system from the unpacked packages; and the kernel version."""
    image = Initramfs()
    for directory, mode in (
        ("dev", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("run", 0o755),
        ("tmp", 0o1777),
        ("root", 0o700),
        ("mnt", 0o755),
        ("etc/dropbear", 0o700),
        ("bin", 0o755),
        ("sbin", 0o755),
        ("usr/bin", 0o755),
        ("usr/sbin", 0o755),
        ("var/log", 0o755),
    ):
        image.mkdir(directory, mode)
    image.char_device("dev/console", 5, 1, 0o600)
    image.char_device("dev/null", 1, 3, 0o666)
    image.symlink("var/run", "../run")

    busybox = resolve_in_root(root, "bin/busybox")
    if not busybox.is_file() or dynamic_info(busybox.read_bytes()).needed:
        raise TestImageBuildError("busybox-static did not provide a static /bin/busybox")
    image.add_file("bin/busybox", busybox.read_bytes(), 0o755)
    image.symlink("bin/sh", "busybox")
    add_programs(image, root, GUEST_PROGRAMS)
    image.symlink("usr/bin/ssh", "dbclient")
    kver, _ = add_modules(image, root)

    image.add_file("init", _resource("init.sh"), 0o755)
    image.add_file("usr/share/udhcpc/default.script", _resource("udhcpc.sh"), 0o755)
    for path, (text, mode) in _ETC_FILES.items():
        image.add_file(path, text.encode(), mode)
    return image, kver


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(directory: Path, pattern: re.Pattern[str]) -> None:
    """Remove what builds that died left behind (`pattern` captures the builder's pid)."""
    if not directory.is_dir():
        return
    for leftover in directory.iterdir():
        match = pattern.fullmatch(leftover.name)
        if match and not _pid_alive(int(match.group(1))):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def build_test_image(
    output: Path, *, cache_dir: Path | None = None, progress: Progress | None = None
) -> Path:
    """Build the test guest's qcow2 at `output` (atomically) and return its path."""
    output = Path(output).absolute()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    disk.check_tools()
    output.parent.mkdir(parents=True, exist_ok=True)
    stamp = build_stamp()

    _report(progress, "Resolving Debian packages", 0.0)
    kernel_package = debs.resolve_kernel()
    packages = debs.describe([kernel_package, *debs.with_dependencies(GUEST_PACKAGES)])
    _report(progress, f"Fetching {len(packages)} packages ({kernel_package})", 0.05)
    _remove_stale(cache / "debs", re.compile(r"\.download-(\d+)-.*"))
    deb_files = debs.fetch(packages, cache / "debs")

    _remove_stale(cache / "work", re.compile(r"build-(\d+)-.*"))
    _remove_stale(output.parent, re.compile(rf"\.{re.escape(output.name)}\.(\d+)-\w+\.partial"))
    (cache / "work").mkdir(parents=True, exist_ok=True)
    # The work tree lives in the cache, not /tmp: if a build is SIGKILLed, the next one
    # finds and removes what it left (the unpacked kernel alone is over 100 MB).
    work = Path(tempfile.mkdtemp(prefix=f"build-{os.getpid()}-", dir=cache / "work"))
    partial = output.with_name(f".{output.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        root = work / "root"
        root.mkdir()
        for i, deb in enumerate(deb_files):
            step = f"Unpacking {deb.name.split('_', 1)[0]}"
            _report(progress, step, 0.3 + 0.3 * i / len(deb_files))
            debs.unpack(deb, root)

        _report(progress, "Assembling the initramfs", 0.6)
        image, kver = assemble_initramfs(root)
        initrd = work / "initrd.gz"
        initrd.write_bytes(image.to_cpio_gz())
        kernel = root / "boot" / f"vmlinuz-{kver}"
        if not kernel.is_file():
            raise TestImageBuildError(f"{kernel_package} has no /boot/vmlinuz-{kver}")

        _report(progress, "Writing the boot disk", 0.8)
        disk.build_disk(kernel, initrd, KERNEL_APPEND, work, partial)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    stamp_file = _stamp_path(output)
    partial_stamp = stamp_file.with_name(f".{stamp_file.name}.{secrets.token_hex(8)}.partial")
    partial_stamp.write_text(
        json.dumps({"stamp": stamp, "kernel": kernel_package, "built": int(time.time())}) + "\n"
    )
    os.replace(partial_stamp, stamp_file)
    _report(progress, "Done", 1.0)
    return output


def is_current(path: Path) -> bool:
    """Whether `path` exists and was built by this version of the builder."""
    try:
        recorded = json.loads(_stamp_path(path).read_text()).get("stamp")
    except (OSError, ValueError, AttributeError):
        return False
    return path.is_file() and recorded == build_stamp()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_test_image(path: Path | None = None, progress: Progress | None = None) -> Path:
    """The test image at `path` (default location if None), built first if absent or stale."""
    target = Path(path).absolute() if path is not None else default_test_image_path()
    if is_current(target):
        return target
    # Two processes wanting the image at once: one builds, the other waits and reuses it.
    with _locked(target):
        if not is_current(target):
            build_test_image(target, progress=progress)
    return target
