"""The test guest image boots under QEMU TCG and does what a cloud guest must do.

Each boot is isolated: user-mode networking with restrict=on (nothing leaves the
machine); the metadata service, when there is one, is a script QEMU runs per connection.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stackling.image.testimage import TEST_IMAGE_READY_MARKER, ensure_test_image
from tests.support.process import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

BOOT_TIMEOUT_S = 120
MAX_IMAGE_BYTES = 40 * 1000 * 1000
SLIRP_GUEST_IP = "10.0.2.15"

# Runs once per guest connection to 169.254.169.254:80 (QEMU guestfwd `cmd:`), with the
# connection as stdin/stdout: answers one request from a path -> body table.
FAKE_METADATA_SERVER = r"""
import json, sys
routes = json.load(open(sys.argv[1]))
request = sys.stdin.buffer.readline().decode("latin-1").split()
while sys.stdin.buffer.readline().strip():
    pass
path = request[1] if len(request) > 1 else "/"
with open(sys.argv[2], "a") as log:
    log.write(path + "\n")
body = routes.get(path)
if body is None:
    head, data = "404 Not Found", b""
else:
    head, data = "200 OK", body.encode()
sys.stdout.buffer.write(
    b"HTTP/1.0 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (head.encode(), len(data))
    + data
)
sys.stdout.buffer.flush()
"""


@pytest.fixture(scope="module")
def image() -> Path:
    """The cached test image (built on first use, reused while the builder is unchanged)."""
    return ensure_test_image()


class Guest:
    """One QEMU TCG guest of the test image: its serial console in a file, QMP on a socket."""

    def __init__(self, image: Path, workdir: Path, extra: list[str]) -> None:
        self.console = workdir / "console.log"
        self.qmp = workdir / "qmp.sock"
        argv = [
            "qemu-system-x86_64",
            "-accel",
            "tcg",
            "-m",
            "128",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            f"file:{self.console}",
            "-qmp",
            f"unix:{self.qmp},server=on,wait=off",
            # snapshot=on: the guest's writes never reach the shared cached image.
            "-drive",
            f"file={image},if=virtio,format=qcow2,snapshot=on",
            *extra,
        ]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def output(self) -> str:
        """The serial console so far."""
        try:
            return self.console.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, marker: str, timeout_s: float = BOOT_TIMEOUT_S) -> str:
        """Wait until `marker` is on the console; the console text."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.output()
            if marker in text:
                return text
            if self.proc.poll() is not None:
                stderr = self.proc.stderr.read().decode() if self.proc.stderr else ""
                pytest.fail(f"qemu exited ({self.proc.returncode}): {stderr}\n{text[-3000:]}")
            time.sleep(0.2)
        pytest.fail(f"no {marker!r} on the console within {timeout_s}s:\n{self.output()[-3000:]}")

    def qmp_command(self, command: str) -> None:
        """Send one QMP command (after the capabilities handshake)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(self.qmp))
            stream = sock.makefile("rw")
            stream.readline()  # greeting
            for execute in ("qmp_capabilities", command):
                stream.write(json.dumps({"execute": execute}) + "\n")
                stream.flush()
                while "return" not in (reply := json.loads(stream.readline())):
                    assert "error" not in reply, reply

    def kill(self) -> None:
        """Stop QEMU for good and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def boot(image: Path, tmp_path: Path) -> Iterator[Callable[..., Guest]]:
    """A function starting a guest with extra QEMU arguments; every guest is killed after."""
    guests: list[Guest] = []

    def start(*extra: str) -> Guest:
        workdir = tmp_path / f"guest{len(guests)}"
        workdir.mkdir()
        guest = Guest(image, workdir, list(extra))
        guests.append(guest)
        return guest

    try:
        yield start
    finally:
        for guest in guests:
            guest.kill()


def _keypair(directory: Path) -> tuple[Path, str]:
    key = Ed25519PrivateKey.generate()
    private = directory / "id_ed25519"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    private.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public.decode() + " test"


def _ready_lines(console: str) -> list[str]:
    return [
        line.strip() for line in console.splitlines() if line.startswith(TEST_IMAGE_READY_MARKER)
    ]


def _guest_log(console: str) -> str:
    """The guest's summary line: metadata source, hostname and key count."""
    match = re.search(r"^stackling-guest\[[\d.]+\]: (metadata=.*)$", console, re.MULTILINE)
    assert match, console[-3000:]
    return match.group(1).strip()


def _host_keys(console: str) -> list[str]:
    block = console.split("-----BEGIN SSH HOST KEY KEYS-----", 1)[1]
    block = block.split("-----END SSH HOST KEY KEYS-----", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


def _ssh(private: Path, known_hosts: Path, port: int, command: str) -> str:
    argv = [
        "ssh",
        "-i",
        str(private),
        "-p",
        str(port),
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"UserKnownHostsFile={known_hosts}",
        "-o",
        "ConnectTimeout=10",
        "root@127.0.0.1",
        command,
    ]
    last = None
    for _ in range(5):
        last = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if last.returncode == 0:
            return last.stdout
        time.sleep(1)
    assert last is not None
    pytest.fail(f"ssh failed ({last.returncode}): {last.stderr}")


def test_image_is_a_small_qcow2(image: Path) -> None:
    assert image.stat().st_size < MAX_IMAGE_BYTES
    info = subprocess.run(
        ["qemu-img", "info", "--output=json", str(image)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(info.stdout)["format"] == "qcow2"


def test_second_ensure_reuses_the_cached_image(image: Path) -> None:
    before = image.stat().st_mtime_ns
    started = time.monotonic()
    assert ensure_test_image() == image
    assert time.monotonic() - started < 5
    assert image.stat().st_mtime_ns == before


def test_boots_from_config_drive_with_ssh_and_clean_poweroff(
    boot: Callable[..., Guest], tmp_path: Path
) -> None:
    marker = f"USERDATA-RAN-{uuid.uuid4().hex[:12]}"
    private, public = _keypair(tmp_path)
    drive = tmp_path / "config-drive"
    latest = drive / "openstack" / "latest"
    latest.mkdir(parents=True)
    meta = {
        "uuid": str(uuid.uuid4()),
        "hostname": "stackling-test-vm",
        "name": "stackling-test-vm",
        "public_keys": {"k": public + "\n"},
    }
    (latest / "meta_data.json").write_text(json.dumps(meta))
    (latest / "user_data").write_text(f"#!/bin/sh\necho {marker}\n")
    iso = tmp_path / "config-drive.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-o", str(iso), "-V", "config-2", "-J", "-r", str(drive)],
        check=True,
        timeout=60,
    )
    port = free_port()

    guest = boot(
        "-cdrom",
        str(iso),
        "-nic",
        f"user,restrict=on,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:{port}-:22",
    )
    console = guest.wait_for(TEST_IMAGE_READY_MARKER)
    print(f"ready {time.monotonic() - guest.started:.1f}s after qemu started")

    assert _ready_lines(console) == [f"{TEST_IMAGE_READY_MARKER} eth0={SLIRP_GUEST_IP}"]
    assert _guest_log(console) == "metadata=config-drive hostname=stackling-test-vm keys=1"
    # The user-data ran, before the guest declared itself ready.
    assert f"\n{marker}" in console.split(TEST_IMAGE_READY_MARKER, 1)[0]

    # The host keys on the console are the ones dropbear serves, and our key lets us in.
    host_keys = _host_keys(console)
    assert any(k.startswith("ssh-ed25519 ") for k in host_keys), host_keys
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join(f"[127.0.0.1]:{port} {k}\n" for k in host_keys))
    assert _ssh(private, known_hosts, port, "hostname; id -u").split() == [
        "stackling-test-vm",
        "0",
    ]

    # An ACPI power-button press (what `stop` does through libvirt) powers it off cleanly.
    guest.qmp_command("system_powerdown")
    assert guest.proc.wait(timeout=60) == 0
    assert "reboot: Power down" in guest.output()


def test_vfat_config_drive_on_virtio_without_network(
    boot: Callable[..., Guest], tmp_path: Path
) -> None:
    marker = f"USERDATA-RAN-{uuid.uuid4().hex[:12]}"
    meta = {"uuid": str(uuid.uuid4()), "hostname": "vfat-vm", "public_keys": {}}
    latest = tmp_path / "latest"
    latest.mkdir()
    (latest / "meta_data.json").write_text(json.dumps(meta))
    (latest / "user_data").write_text(f"#!/bin/sh\necho {marker}\n")
    drive = tmp_path / "config-drive.vfat"
    for argv in (
        ["mkfs.fat", "-C", "-n", "config-2", str(drive), "4096"],
        ["mmd", "-i", str(drive), "::/openstack", "::/openstack/latest"],
        ["mcopy", "-i", str(drive), *map(str, latest.iterdir()), "::/openstack/latest/"],
    ):
        subprocess.run(argv, check=True, capture_output=True, timeout=60)

    guest = boot("-drive", f"file={drive},if=virtio,format=raw,readonly=on", "-nic", "none")
    console = guest.wait_for(TEST_IMAGE_READY_MARKER)

    assert _ready_lines(console) == [TEST_IMAGE_READY_MARKER]
    assert _guest_log(console) == "metadata=config-drive hostname=vfat-vm keys=0"
    assert f"\n{marker}" in console


@pytest.mark.parametrize("flavour", ["openstack", "ec2"])
def test_metadata_service(boot: Callable[..., Guest], tmp_path: Path, flavour: str) -> None:
    marker = f"USERDATA-RAN-{uuid.uuid4().hex[:12]}"
    _, public = _keypair(tmp_path)
    user_data = f"#!/bin/sh\necho {marker}\n"
    if flavour == "openstack":
        meta = {
            "uuid": str(uuid.uuid4()),
            "hostname": "os-vm.novalocal",
            "public_keys": {"k": public},
        }
        routes = {
            "/openstack/latest/meta_data.json": json.dumps(meta),
            "/openstack/latest/user_data": user_data,
        }
        hostname = "os-vm"
    else:
        routes = {
            "/latest/meta-data/instance-id": "i-0123456789",
            "/latest/meta-data/public-keys/0/openssh-key": public + "\n",
            "/latest/meta-data/hostname": "ec2-vm.ec2.internal",
            "/latest/user-data": user_data,
        }
        hostname = "ec2-vm"
    routes_file = tmp_path / "routes.json"
    routes_file.write_text(json.dumps(routes))
    server = tmp_path / "metadata_server.py"
    server.write_text(FAKE_METADATA_SERVER)
    requests = tmp_path / "requests.log"
    command = shlex.join([sys.executable, str(server), str(routes_file), str(requests)])
    # guestfwd only serves addresses inside the user network: make it link-local.
    nic = (
        "user,restrict=on,model=virtio-net-pci,net=169.254.0.0/16,host=169.254.0.2,"
        f"guestfwd=tcp:169.254.169.254:80-cmd:{command.replace(',', ',,')}"
    )

    guest = boot("-nic", nic)
    console = guest.wait_for(TEST_IMAGE_READY_MARKER)
    print(f"ready {time.monotonic() - guest.started:.1f}s after qemu started")

    [ready] = _ready_lines(console)
    assert re.fullmatch(rf"{TEST_IMAGE_READY_MARKER} eth0=169\.254\.\d+\.\d+", ready), ready
    assert _guest_log(console) == f"metadata={flavour} hostname={hostname} keys=1"
    assert f"\n{marker}" in console.split(TEST_IMAGE_READY_MARKER, 1)[0]
    asked = requests.read_text().split()
    # OpenStack first; EC2 only as the fallback.
    assert asked[0] == "/openstack/latest/meta_data.json"
    assert ("/latest/meta-data/instance-id" in asked) == (flavour == "ec2")
