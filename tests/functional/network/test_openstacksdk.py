"""openstacksdk against the API served over real HTTP (the SDK speaks through requests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import openstack
import pytest
import uvicorn
from openstack import exceptions

from stackling.app import build_app
from stackling.settings import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.support.pg import free_port


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app served on a loopback port by uvicorn in a thread; its base URL."""
    port = free_port()
    config = uvicorn.Config(
        build_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the in-thread server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def test_openstacksdk_drives_networks_subnets_ports(settings: Settings) -> None:
    with serving(settings) as url:
        conn = openstack.connect(
            auth_url=f"{url}/identity/v3",
            username="admin",
            password=ADMIN_PASSWORD,
            project_name="admin",
            user_domain_name="Default",
            project_domain_name="Default",
            # The catalog names the configured port, not this test server's.
            network_endpoint_override=f"{url}/networking/v2.0",
        )
        try:
            net = conn.network.create_network(name="sdk-net", mtu=1400)
            assert net.mtu == 1400 and net.provider_network_type == "vxlan"
            sub = conn.network.create_subnet(
                network_id=net.id, ip_version=4, cidr="10.99.0.0/24", name="sdk-sub"
            )
            assert sub.gateway_ip == "10.99.0.1"
            port = conn.network.create_port(network_id=net.id, fixed_ips=[{"subnet_id": sub.id}])
            assert port.fixed_ips == [{"subnet_id": sub.id, "ip_address": "10.99.0.2"}]
            with pytest.raises(exceptions.ConflictException, match=r"10\.99\.0\.2 is in use"):
                conn.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.99.0.2"}])
            with pytest.raises(exceptions.ResourceNotFound):
                conn.network.get_network("7a1f3e2b-0000-4000-8000-000000000000")
            # The SDK follows the next links page by page.
            for n in range(3):
                conn.network.create_network(name=f"page-{n}")
            names = [n.name for n in conn.network.networks(limit=1)]
            assert sorted(names) == ["page-0", "page-1", "page-2", "sdk-net"]
            assert [n.id for n in conn.network.networks(name="sdk-net")] == [net.id]
            conn.network.set_tags(net, ["blue", "green"])
            assert conn.network.get_network(net.id).tags == ["blue", "green"]
            renamed = conn.network.update_network(net, name="renamed")
            assert renamed.name == "renamed" and renamed.revision_number == 3
            sg = conn.network.create_security_group(name="sdk-sg")
            rule = conn.network.create_security_group_rule(
                security_group_id=sg.id, direction="ingress", protocol="tcp",
                port_range_min=22, port_range_max=22,
            )  # fmt: skip
            assert rule.port_range_min == 22
            quota = conn.network.get_quota(conn.current_project_id)
            assert quota.networks == 100 and quota.ports == 500
            pool = conn.network.create_subnet_pool(name="sdk-pool", prefixes=["10.128.0.0/16"])
            assert pool.prefixes == ["10.128.0.0/16"]
            assert conn.network.find_extension("security-group") is not None
            conn.network.delete_port(port)
            conn.network.delete_subnet(sub)
            conn.network.delete_network(net)
            assert conn.network.find_network("renamed") is None
        finally:
            conn.close()
