"""Real guests under libvirt (QEMU TCG here), driven with the `openstack` CLI and openstacksdk.

One cloud for the module: `stackling up` with the libvirt driver and the test
image registered as `cirros`. Every server is deleted at the end, and the
module checks that no domain of this cloud is left in libvirt.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.cloud import Cloud, detached_cloud
from tests.support.process import pid_alive, run, stackling_cmd

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

READY = "STACKLING-GUEST-READY"


def _domains_of(owner: str) -> list[str]:
    """Names of libvirt domains tagged with this cloud's owner id."""
    out = subprocess.run(
        ["virsh", "-c", "qemu:///system", "list", "--all", "--uuid"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    found = []
    for uuid in out.stdout.split():
        xml = subprocess.run(
            ["virsh", "-c", "qemu:///system", "dumpxml", uuid],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if owner in xml.stdout:
            found.append(uuid)
    return found


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A cloud running real guests; the test image is registered as `cirros`."""
    data_dir = tmp_path_factory.mktemp("guests") / "data"
    with detached_cloud(
        data_dir,
        STACKLING_COMPUTE__DRIVER="libvirt",
        STACKLING_IMAGE__REGISTER_TEST_IMAGE="true",
        # The test guest has no ACPI daemon: a short grace period keeps stops quick.
        STACKLING_COMPUTE__SHUTDOWN_TIMEOUT_S="5",
    ) as c:
        _wait_for_image(c, "cirros")
        try:
            yield c
        finally:
            for server in c.openstack("server", "list", "-f", "json"):
                c.openstack("server", "delete", "--wait", server["ID"], ok=False)
            owner = (data_dir / "compute" / "owner").read_text().strip()
            leftover = _domains_of(owner)
            assert not leftover, f"domains left behind: {leftover}"


def _wait_for_image(c: Cloud, name: str, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        images = c.openstack("image", "list", "-f", "json")
        if any(i["Name"] == name and i["Status"] == "active" for i in images):
            return
        time.sleep(1)
    raise AssertionError(f"image {name} never became active")


def _console_has(c: Cloud, server: str, text: str, after: int = 0, timeout_s: float = 120) -> str:
    """Poll the console log until `text` appears after the first `after` occurrences."""
    deadline = time.monotonic() + timeout_s
    log = ""
    while time.monotonic() < deadline:
        log = c.openstack("console", "log", "show", server)
        if log.count(text) > after:
            return log
        time.sleep(1)
    raise AssertionError(
        f"{text!r} did not appear (seen {log.count(text)}); console:\n{log[-2000:]}"
    )


def _wait_status(c: Cloud, server: str, status: str, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    shown: dict[str, Any] = {}
    while time.monotonic() < deadline:
        shown = c.openstack("server", "show", server, "-f", "json")
        if shown["status"] == status and not shown.get("OS-EXT-STS:task_state"):
            return shown
        if shown["status"] == "ERROR":
            raise AssertionError(f"server went to ERROR: {shown.get('fault')}")
        time.sleep(1)
    raise AssertionError(f"server never reached {status}: {shown}")


def _shell_answers_on_serial_console(c: Cloud, server: str) -> None:
    """The guest's shell, reached through `console url show --serial` and the proxy, computes."""
    url = c.openstack("console", "url", "show", "--serial", "-f", "json", server)["url"]
    assert url.startswith(f"ws://127.0.0.1:{c.port}/compute/console/serial?token=")
    got = b""
    with connect(url, subprotocols=["binary"], open_timeout=10) as ws:
        deadline = time.monotonic() + 60
        # Keep asking: the first bytes may land while the shell is still starting.
        while b"STACKLING-42" not in got and time.monotonic() < deadline:
            ws.send(b"echo STACKLING-$((6*7))\n")
            with contextlib.suppress(TimeoutError):
                while b"STACKLING-42" not in got:
                    data = ws.recv(timeout=2)
                    got += data if isinstance(data, bytes) else data.encode()
    assert b"STACKLING-42" in got, got[-500:]


def test_server_boots_the_test_image_and_survives_every_action(
    cloud: Cloud, tmp_path: Path
) -> None:
    key = tmp_path / "id_ed25519"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], env=dict(os.environ))
    cloud.openstack("keypair", "create", "--public-key", f"{key}.pub", "k")
    created = cloud.openstack(
        "server", "create", "--image", "cirros", "--flavor", "s1.nano", "--key-name", "k",
        "--wait", "-f", "json", "vm1",
    )  # fmt: skip
    assert created["status"] == "ACTIVE"
    boots = 1
    _console_has(cloud, "vm1", READY, after=0)
    _shell_answers_on_serial_console(cloud, "vm1")
    steps = [
        (["server", "stop", "vm1"], "SHUTOFF", False),
        (["server", "start", "vm1"], "ACTIVE", True),
        (["server", "reboot", "--hard", "vm1"], "ACTIVE", True),
        (["server", "pause", "vm1"], "PAUSED", False),
        (["server", "unpause", "vm1"], "ACTIVE", False),
        (["server", "suspend", "vm1"], "SUSPENDED", False),
        (["server", "resume", "vm1"], "ACTIVE", False),
        (["server", "rebuild", "--image", "cirros", "vm1"], "ACTIVE", True),
        (["server", "resize", "--flavor", "m1.tiny", "vm1"], "VERIFY_RESIZE", True),
        (["server", "resize", "confirm", "vm1"], "ACTIVE", False),
    ]
    for argv, status, reboots in steps:
        cloud.openstack(*argv)
        shown = _wait_status(cloud, "vm1", status)
        if reboots:
            # A rebuild starts a fresh console log; every other boot appends to it.
            if "rebuild" in argv:
                boots = 0
            _console_has(cloud, "vm1", READY, after=boots)
            boots += 1
    assert "m1.tiny" in str(shown["flavor"]), shown["flavor"]
    cloud.openstack("server", "image", "create", "--name", "vm1-snap", "--wait", "vm1")
    snap = cloud.openstack("image", "show", "vm1-snap", "-f", "json")
    assert snap["status"] == "active" and snap["disk_format"] == "qcow2"
    _wait_status(cloud, "vm1", "ACTIVE")
    # The guest still answers after the snapshot (it was saved and restored).
    log = cloud.openstack("console", "log", "show", "vm1")
    assert READY in log
    # A server booted from the snapshot comes up too.
    cloud.openstack(
        "server", "create", "--image", "vm1-snap", "--flavor", "m1.tiny", "--wait", "vm2",
    )  # fmt: skip
    _console_has(cloud, "vm2", READY)
    cloud.openstack("server", "delete", "--wait", "vm2")
    cloud.openstack("server", "delete", "--wait", "vm1")


def test_sigkill_while_twenty_servers_build_loses_and_leaks_nothing(cloud: Cloud) -> None:
    cloud.openstack("quota", "set", "--instances", "40", "--cores", "80", "--ram", "20480", "admin")
    # One request makes all twenty, so the kill lands while they are still building.
    cloud.openstack(
        "server", "create", "--image", "cirros", "--flavor", "s1.nano",
        "--min", "20", "--max", "20", "crash",
    )  # fmt: skip
    pid = int((cloud.data_dir / "stackling.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    up = run(
        [*stackling_cmd(), "up", "--detach", "--data-dir", str(cloud.data_dir),
         "--port", str(cloud.port)],
        env=cloud.env, timeout=180,
    )  # fmt: skip
    assert up.returncode == 0, up.stdout + up.stderr
    deadline = time.monotonic() + 600
    servers: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        servers = cloud.openstack("server", "list", "--name", "^crash-", "--long", "-f", "json")
        if len(servers) == 20 and all(s["Status"] in ("ACTIVE", "ERROR") for s in servers):
            break
        time.sleep(2)
    assert len(servers) == 20 and all(s["Status"] in ("ACTIVE", "ERROR") for s in servers), servers
    faults = []
    for server in servers:
        if server["Status"] == "ERROR":
            fault = cloud.openstack("server", "show", server["ID"], "-f", "json").get("fault")
            assert fault, server
            faults.append(fault)
    owner = (cloud.data_dir / "compute" / "owner").read_text().strip()
    # Every running server has its domain and no domain is without a server.
    assert set(_domains_of(owner)) == {s["ID"] for s in servers if s["Status"] == "ACTIVE"}
    usage = _placement_usage(cloud)
    active = [s for s in servers if s["Status"] == "ACTIVE"]
    held = {s["ID"]: (s["Status"], _allocations(cloud, s["ID"])) for s in servers}
    assert usage.get("MEMORY_MB", 0) == 128 * len(active), (usage, faults, held)
    for server in servers:
        cloud.openstack("server", "delete", server["ID"])
    for server in servers:
        cloud.openstack("server", "delete", "--wait", server["ID"], ok=False)


def _allocations(cloud: Cloud, consumer: str) -> dict[str, Any]:
    token = cloud.openstack("token", "issue", "-f", "json")["id"]
    r = httpx.get(
        f"{cloud.url}/placement/allocations/{consumer}",
        headers={"X-Auth-Token": token, "OpenStack-API-Version": "placement 1.28"},
        timeout=30,
    )
    return dict(r.json()["allocations"])


def _placement_usage(cloud: Cloud) -> dict[str, int]:
    project = cloud.openstack("project", "show", "admin", "-f", "json")["id"]
    token = cloud.openstack("token", "issue", "-f", "json")["id"]
    r = httpx.get(
        f"{cloud.url}/placement/usages",
        params={"project_id": project},
        headers={"X-Auth-Token": token, "OpenStack-API-Version": "placement 1.9"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return dict(r.json()["usages"])
