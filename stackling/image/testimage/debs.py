"""Debian packages for the test image: resolve with apt-cache, fetch with apt-get, keep a cache."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stackling.image.testimage.errors import TestImageBuildError

KERNEL_METAPACKAGE = "linux-image-cloud-amd64"
_KERNEL_PACKAGE = re.compile(r"^linux-image-\d[\w.+~-]*-cloud-amd64$")
_APT_TIMEOUT_S = 600


@dataclass(frozen=True)
class Package:
    """One binary package version as the apt lists describe it."""

    name: str
    version: str
    architecture: str
    sha256: str

    @property
    def filename(self) -> str:
        """The file name `apt-get download` gives it (epoch colon escaped)."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.architecture}.deb"


def run_tool(argv: list[str], *, timeout: float = 300, cwd: Path | None = None) -> str:
    """Run a build tool; its stdout, or a TestImageBuildError carrying its stderr."""
    try:
        proc = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise TestImageBuildError(f"`{argv[0]}` is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise TestImageBuildError(f"`{' '.join(argv)}` did not finish in {timeout:.0f}s") from exc
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
        raise TestImageBuildError(f"`{' '.join(argv)}` failed ({proc.returncode}): {detail}")
    return proc.stdout


def parse_deb822(text: str) -> list[dict[str, str]]:
    """Paragraphs of `Field: value` records (continuation lines joined with newlines)."""
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                records.append(current)
            current, last = {}, ""
        elif line[0] in " \t" and last:
            current[last] += "\n" + line.strip()
        elif ":" in line:
            last, _, value = line.partition(":")
            current[last] = value.strip()
    if current:
        records.append(current)
    return records


def kernel_package_from_depends(depends: str) -> str:
    """The versioned `linux-image-*-cloud-amd64` package a kernel metapackage depends on."""
    for clause in depends.split(","):
        for alternative in clause.split("|"):
            name = alternative.strip().split(" ", 1)[0].split(":", 1)[0]
            if _KERNEL_PACKAGE.match(name):
                return name
    raise TestImageBuildError(
        f"{KERNEL_METAPACKAGE} does not depend on a versioned cloud kernel (Depends: {depends})"
    )


def parse_recursive_depends(text: str) -> list[str]:
    """Package names from `apt-cache depends --recurse` output (virtual ones left out)."""
    names: list[str] = []
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("<"):
            name = line.strip().split(":", 1)[0]
            if name not in names:
                names.append(name)
    return names


def _apt_cache_show(names: Iterable[str]) -> list[dict[str, str]]:
    try:
        out = run_tool(["apt-cache", "show", "--no-all-versions", *names], timeout=120)
    except TestImageBuildError as exc:
        raise TestImageBuildError(
            f"apt does not know the packages the test image needs ({exc}); "
            "run `apt-get update` (Debian 12 main must be in the sources)"
        ) from exc
    return parse_deb822(out)


def resolve_kernel() -> str:
    """The versioned cloud kernel package the apt candidate of the metapackage points to."""
    records = _apt_cache_show([KERNEL_METAPACKAGE])
    if not records:
        raise TestImageBuildError(f"apt has no {KERNEL_METAPACKAGE}; run `apt-get update`")
    return kernel_package_from_depends(records[0].get("Depends", ""))


def with_dependencies(names: Iterable[str]) -> list[str]:
    """`names` and everything they depend on (no recommends), as apt resolves it."""
    out = run_tool(
        [
            "apt-cache",
            "depends",
            "--recurse",
            "--no-recommends",
            "--no-suggests",
            "--no-conflicts",
            "--no-breaks",
            "--no-replaces",
            "--no-enhances",
            *names,
        ],
        timeout=120,
    )
    return parse_recursive_depends(out)


def describe(names: Iterable[str]) -> list[Package]:
    """The candidate version of each package."""
    wanted = list(dict.fromkeys(names))
    found: dict[str, Package] = {}
    for record in _apt_cache_show(wanted):
        name = record.get("Package", "")
        # With multiarch enabled apt lists foreign architectures too; the guest is amd64.
        if record.get("Architecture") not in ("amd64", "all"):
            continue
        if name in wanted and name not in found:
            found[name] = Package(
                name=name,
                version=record["Version"],
                architecture=record.get("Architecture", "amd64"),
                sha256=record.get("SHA256", ""),
            )
    missing = [n for n in wanted if n not in found]
    if missing:
        raise TestImageBuildError(f"apt has no candidate for {', '.join(missing)}")
    return [found[n] for n in wanted]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cached(cache: Path, package: Package) -> Path | None:
    path = cache / package.filename
    if path.is_file() and (not package.sha256 or _sha256(path) == package.sha256):
        return path
    return None


def fetch(packages: list[Package], cache: Path) -> list[Path]:
    """The .deb of each package from `cache`, downloading (and checking) what is missing."""
    cache.mkdir(parents=True, exist_ok=True)
    missing = [p for p in packages if _cached(cache, p) is None]
    if missing:
        # Download into a scratch directory beside the cache so a half-written file
        # never looks like a cached one, then move each verified file in.
        with tempfile.TemporaryDirectory(prefix=f".download-{os.getpid()}-", dir=cache) as scratch:
            argv = ["apt-get", "download", "-q"]
            if os.geteuid() == 0:
                # As root, apt would hand the download to the `_apt` user, which cannot
                # write into a private cache directory.
                argv += ["-o", "APT::Sandbox::User=root"]
            argv += [
                f"{p.name}:amd64={p.version}"
                if p.architecture == "amd64"
                else f"{p.name}={p.version}"
                for p in missing
            ]
            try:
                run_tool(argv, cwd=Path(scratch), timeout=_APT_TIMEOUT_S)
            except TestImageBuildError as exc:
                raise TestImageBuildError(
                    f"{exc} (if the mirror no longer has these versions, run `apt-get update`)"
                ) from exc
            for package in missing:
                downloaded = Path(scratch) / package.filename
                if not downloaded.is_file():
                    raise TestImageBuildError(
                        f"apt-get download did not produce {package.filename}"
                    )
                if package.sha256 and _sha256(downloaded) != package.sha256:
                    raise TestImageBuildError(f"{package.filename}: SHA256 mismatch")
                os.replace(downloaded, cache / package.filename)
    # Superseded versions (a new kernel upload, a security update) are never used again.
    wanted = {p.filename for p in packages}
    for stale in cache.glob("*.deb"):
        if stale.name not in wanted:
            stale.unlink(missing_ok=True)
    return [cache / p.filename for p in packages]


def unpack(deb: Path, dest: Path) -> None:
    """Extract a package's files (no maintainer scripts run) into `dest`."""
    if shutil.which("dpkg-deb") is None:
        raise TestImageBuildError("`dpkg-deb` is not installed (Debian package `dpkg`)")
    run_tool(["dpkg-deb", "-x", str(deb), str(dest)], timeout=300)
