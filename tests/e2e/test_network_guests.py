"""Real guests on real networks: DHCP, metadata, a router, a floating IP, SSH and security groups.

One cloud for the module: `stackling up` with the libvirt driver and the
network agent on this machine's own network namespace, as an operator runs
it. The tenant builds its network with the `openstack` CLI exactly as on
Neutron; the host reaches the guest only through the floating IP on the
cloud's private provider bridge. Namespaces carry a random tag, and whatever
the module made on the host (namespaces, bridges, nft tables) is gone at the
end; the module checks it.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cloud import Cloud, detached_cloud

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

READY = "STACKLING-GUEST-READY"
# A listener the guest starts from user-data: reachable only once a rule allows it.
USER_DATA = "#!/bin/sh\nmkdir -p /srv && echo hello-2222 > /srv/index.html\nhttpd -p 2222 -h /srv\n"


def _sh(*argv: str, timeout: float = 60) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False).stdout


def _host_state(tag: str) -> dict[str, set[str]]:
    """What the data plane may leave on the host: tagged namespaces, our links, nft tables."""
    namespaces = {line.split()[0] for line in _sh("ip", "netns", "list").splitlines() if line}
    links = set(re.findall(r"^\d+: ([^:@]+)", _sh("ip", "-o", "link", "show"), re.M))
    tables = {
        line.removeprefix("table ").strip()
        for line in _sh("nft", "list", "tables").splitlines()
        if line.startswith("table ")
    }
    return {
        "namespaces": {n for n in namespaces if n.startswith(tag)},
        "links": {
            name
            for name in links
            if name.startswith(("brq", "tap", "vxlan-", "qr-", "qg-", "ns-", "br-stackling"))
        },
        "tables": {t for t in tables if "stackling" in t},
    }


def _remove_new(before: dict[str, set[str]], after: dict[str, set[str]]) -> None:
    for name in after["namespaces"] - before["namespaces"]:
        _sh("ip", "netns", "delete", name)
    for name in after["links"] - before["links"]:
        _sh("ip", "link", "delete", name)
    for table in after["tables"] - before["tables"]:
        _sh("nft", "delete", "table", *table.split())


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A cloud with real guests and the network agent on this host."""
    tag = "e2e" + secrets.token_hex(3)
    before = _host_state(tag)
    data_dir = tmp_path_factory.mktemp("netguests") / "data"
    # dnsmasq re-reads its files as nobody: pytest's own directories are private.
    dhcp_dir = Path(tempfile.mkdtemp(prefix="stackling-dhcp-"))
    dhcp_dir.chmod(0o755)
    try:
        with detached_cloud(
            data_dir,
            STACKLING_COMPUTE__DRIVER="libvirt",
            STACKLING_IMAGE__REGISTER_TEST_IMAGE="true",
            STACKLING_COMPUTE__SHUTDOWN_TIMEOUT_S="5",
            # Guests read their metadata from 169.254.169.254, not a config drive.
            STACKLING_COMPUTE__FORCE_CONFIG_DRIVE="false",
            STACKLING_NETWORK__AGENT_ENABLED="true",
            STACKLING_NETWORK__TAG=tag,
            STACKLING_NETWORK__DHCP_DIR=str(dhcp_dir),
        ) as c:
            _wait_for_image(c, "cirros")
            try:
                yield c
            finally:
                _delete_everything(c, tag)
                left = _host_state(tag)
                assert not left["namespaces"], f"namespaces left behind: {left['namespaces']}"
    finally:
        after = _host_state(tag)
        _remove_new(before, after)
        shutil.rmtree(dhcp_dir, ignore_errors=True)


def _delete_everything(c: Cloud, tag: str) -> None:
    for server in c.openstack("server", "list", "-f", "json"):
        c.openstack("server", "delete", "--wait", server["ID"], ok=False)
    for fip in c.openstack("floating", "ip", "list", "-f", "json"):
        c.openstack("floating", "ip", "delete", fip["ID"], ok=False)
    for router in c.openstack("router", "list", "-f", "json"):
        shown = c.openstack("router", "show", router["ID"], "-f", "json")
        for iface in shown.get("interfaces_info") or []:
            c.openstack("router", "remove", "port", router["ID"], iface["port_id"], ok=False)
        c.openstack("router", "delete", router["ID"], ok=False)
    for net in c.openstack("network", "list", "-f", "json"):
        if net["Name"] != "public":
            c.openstack("network", "delete", net["ID"], ok=False)
    # The agent tears down what the rows no longer ask for; give it its turn.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not _host_state(tag)["namespaces"]:
            return
        time.sleep(1)


def _wait_for_image(c: Cloud, name: str, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        images = c.openstack("image", "list", "-f", "json")
        if any(i["Name"] == name and i["Status"] == "active" for i in images):
            return
        time.sleep(1)
    raise AssertionError(f"image {name} never became active")


def _console_has(c: Cloud, server: str, text: str, timeout_s: float = 180) -> str:
    deadline = time.monotonic() + timeout_s
    log = ""
    while time.monotonic() < deadline:
        log = c.openstack("console", "log", "show", server)
        if text in log:
            return log
        time.sleep(1)
    raise AssertionError(f"{text!r} did not appear; console:\n{log[-3000:]}")


def _tcp_open(address: str, port: int, timeout_s: float = 3.0) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout_s):
        return True
    return False


def _wait_tcp(address: str, port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _tcp_open(address, port):
            return
        time.sleep(1)
    raise AssertionError(f"{address}:{port} never answered")


def _ssh(key: Path, address: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
            "-o", "BatchMode=yes", f"root@{address}", command,
        ],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def keypair(cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SSH key registered as keypair `k`; the private key's path."""
    key = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30
    )
    cloud.openstack("keypair", "create", "--public-key", f"{key}.pub", "k", "-f", "json")
    return key


@pytest.fixture(scope="module")
def topology(cloud: Cloud) -> dict[str, Any]:
    """n1/s1 behind r1, whose gateway is on `public`; the default group lets SSH in."""
    net = cloud.openstack("network", "create", "n1", "-f", "json")
    sub = cloud.openstack(
        "subnet", "create", "--network", "n1", "--subnet-range", "10.10.0.0/24", "s1", "-f", "json"
    )
    router = cloud.openstack("router", "create", "r1", "-f", "json")
    cloud.openstack("router", "set", "r1", "--external-gateway", "public")
    cloud.openstack("router", "add", "subnet", "r1", "s1")
    for args in (("--protocol", "tcp", "--dst-port", "22"), ("--protocol", "icmp")):
        cloud.openstack("security", "group", "rule", "create", *args, "default", "-f", "json")
    return {"net": net, "sub": sub, "router": router}


def _boot(cloud: Cloud, name: str, user_data: Path | None = None) -> dict[str, Any]:
    extra = ["--user-data", str(user_data)] if user_data else []
    cloud.openstack(
        "server", "create", "--network", "n1", "--image", "cirros", "--flavor", "s1.nano",
        "--key-name", "k", *extra, "--wait", name, "-f", "json", timeout=300,
    )  # fmt: skip
    return dict(cloud.openstack("server", "show", name, "-f", "json"))


def _fixed_ip(server: dict[str, Any]) -> str:
    addresses = server["addresses"]
    if isinstance(addresses, dict):
        return str(addresses["n1"][0])
    return str(re.search(r"n1=([0-9.]+)", addresses).group(1))  # type: ignore[union-attr]


def test_guest_gets_dhcp_metadata_floating_ip_ssh_and_security_groups(
    cloud: Cloud, keypair: Path, topology: dict[str, Any], tmp_path: Path
) -> None:
    user_data = tmp_path / "user-data.sh"
    user_data.write_text(USER_DATA)
    vm1 = _boot(cloud, "vm1", user_data)
    fixed = _fixed_ip(vm1)
    assert fixed.startswith("10.10.0.")
    log = _console_has(cloud, "vm1", READY)
    # DHCP gave the guest the address Neutron's port holds; metadata gave it its key.
    lines = [line for line in log.splitlines() if READY in line or "metadata=" in line]
    assert f"eth0={fixed}" in log, lines
    assert "metadata=openstack" in log and "keys=1" in log, lines
    fip = cloud.openstack("floating", "ip", "create", "public", "-f", "json")
    address = fip["floating_ip_address"]
    cloud.openstack("server", "add", "floating", "ip", "vm1", address)
    _wait_tcp(address, 22, timeout_s=90)
    done = _ssh(keypair, address, "hostname; cat /run/stackling/meta_data.json")
    assert done.returncode == 0, done.stderr
    assert "vm1" in done.stdout and vm1["id"] in done.stdout
    # The user-data listener: dropped by the default group until a rule lets it in.
    assert "hello-2222" in _ssh(keypair, address, "wget -q -O - http://127.0.0.1:2222/").stdout
    assert not _tcp_open(address, 2222)
    rule = cloud.openstack(
        "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "2222",
        "default", "-f", "json",
    )  # fmt: skip
    _wait_tcp(address, 2222, timeout_s=30)
    cloud.openstack("security", "group", "rule", "delete", rule["id"])
    deadline = time.monotonic() + 30
    while _tcp_open(address, 2222) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _tcp_open(address, 2222)
    # SNAT: the guest reaches the host's address on the provider network.
    out = _ssh(keypair, address, "ping -c 1 -W 3 172.24.4.1 >/dev/null && echo reached")
    assert "reached" in out.stdout, out.stderr


def test_two_guests_on_one_network_reach_each_other(
    cloud: Cloud, keypair: Path, topology: dict[str, Any]
) -> None:
    vm2 = _boot(cloud, "vm2")
    other = _fixed_ip(vm2)
    _console_has(cloud, "vm2", READY)
    fips = cloud.openstack("floating", "ip", "list", "-f", "json")
    address = next(f["Floating IP Address"] for f in fips if f["Port"])
    out = _ssh(keypair, address, f"ping -c 2 -W 3 {other} >/dev/null && echo reached")
    assert "reached" in out.stdout, out.stderr
    # A guest on a network no router joins to n1 is out of reach.
    cloud.openstack("network", "create", "n2", "-f", "json")
    cloud.openstack(
        "subnet", "create", "--network", "n2", "--subnet-range", "10.20.0.0/24", "s2",
        "-f", "json",
    )  # fmt: skip
    cloud.openstack(
        "server", "create", "--network", "n2", "--image", "cirros", "--flavor", "s1.nano",
        "--wait", "vm3", "-f", "json", timeout=300,
    )  # fmt: skip
    vm3 = dict(cloud.openstack("server", "show", "vm3", "-f", "json"))
    _console_has(cloud, "vm3", READY)
    isolated = re.search(r"10\.20\.0\.[0-9]+", json.dumps(vm3["addresses"]))
    assert isolated is not None, vm3["addresses"]
    out = _ssh(keypair, address, f"ping -c 2 -W 2 {isolated.group(0)} >/dev/null && echo reached")
    assert "reached" not in out.stdout
    # Port security: vm1 cannot take vm2's address as its own.
    spoof = (
        f"ip addr add {other}/32 dev eth0; "
        f"ping -c 2 -W 2 -I {other} 10.10.0.1 >/dev/null && echo spoofed; "
        f"ip addr del {other}/32 dev eth0"
    )
    assert "spoofed" not in _ssh(keypair, address, spoof).stdout


def _wait_ssh_output(
    key: Path, address: str, command: str, wanted: str, present: bool, timeout_s: float = 60
) -> str:
    deadline = time.monotonic() + timeout_s
    out = ""
    while time.monotonic() < deadline:
        out = _ssh(key, address, command).stdout
        if (wanted in out) == present:
            return out
        time.sleep(1)
    raise AssertionError(f"{wanted!r} {'never appeared' if present else 'stayed'} in:\n{out}")


def test_interface_hot_plug_reaches_another_network_and_goes(
    cloud: Cloud, keypair: Path, topology: dict[str, Any]
) -> None:
    # After the two-guest test: vm1 has the floating IP, vm3 sits alone on n2.
    fips = cloud.openstack("floating", "ip", "list", "-f", "json")
    address = next(f["Floating IP Address"] for f in fips if f["Port"])
    vm3 = dict(cloud.openstack("server", "show", "vm3", "-f", "json"))
    target = re.search(r"10\.20\.0\.[0-9]+", json.dumps(vm3["addresses"]))
    assert target is not None, vm3["addresses"]
    cloud.openstack("server", "add", "network", "vm1", "n2")
    ports = cloud.openstack("port", "list", "--server", "vm1", "--network", "n2", "-f", "json")
    [port] = ports
    mine = re.search(r"10\.20\.0\.[0-9]+", json.dumps(port["Fixed IP Addresses"]))
    assert mine is not None, port
    # The guest's kernel sees the new NIC appear, DHCP gives it the port's address,
    # and the guest alone on n2 is reachable through it.
    _wait_ssh_output(keypair, address, "ls /sys/class/net", "eth1", present=True)
    dhcp = (
        "ip link set eth1 up; udhcpc -i eth1 -n -q -t 5 -T 2 -s /usr/share/udhcpc/default.script"
        " >/dev/null 2>&1; ip -4 -o addr show dev eth1"
    )
    assert mine.group(0) in _ssh(keypair, address, dhcp).stdout
    ping = f"ping -c 2 -W 3 -I eth1 {target.group(0)} >/dev/null && echo reached"
    assert "reached" in _ssh(keypair, address, ping).stdout
    cloud.openstack("server", "remove", "network", "vm1", "n2")
    _wait_ssh_output(keypair, address, "ls /sys/class/net", "eth1", present=False)
    assert cloud.openstack("port", "list", "--server", "vm1", "--network", "n2", "-f", "json") == []
