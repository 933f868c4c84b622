"""Instance snapshots for the metadata tests: one full instance, variations by keyword."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from stackling.compute.metadata.source import (
    FixedIp,
    HostRoute,
    InstanceMetadataSource,
    KeyPair,
    VifInfo,
)

UUID = "6c1a4b0e-2f55-4c8e-9a0b-5d1f3c2e7a90"
PROJECT = "f7ac731cc11f40efbc03a9f9e1d1d21f"
PORT_ID = "cd9f6d46-4a3a-43ab-a466-994af9db96fc"
NETWORK_ID = "99e88329-f20d-4741-9593-25bf07847b16"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ4tNwU7kX test@stackling"
# Not UTF-8 on purpose: user data is bytes end to end.
BINARY_USER_DATA = b"#!/bin/sh\necho hi\n\x00\xff\xfe\x80 end"

DHCP_V4 = FixedIp(
    address="10.0.0.5",
    cidr="10.0.0.0/24",
    gateway="10.0.0.1",
    dns_servers=("10.0.0.2",),
    dhcp_enabled=True,
    floating_ips=("172.24.4.10",),
)
STATIC_V4 = FixedIp(
    address="192.168.7.20",
    cidr="192.168.7.0/24",
    gateway="192.168.7.1",
    dns_servers=("8.8.8.8", "10.0.0.2"),
    host_routes=(HostRoute("172.16.0.0/12", "192.168.7.254"),),
    dhcp_enabled=False,
)
SLAAC_V6 = FixedIp(
    address="2001:db8:0:1:f816:3eff:fe12:3456",
    cidr="2001:db8:0:1::/64",
    gateway="2001:db8:0:1::1",
    dns_servers=("2001:4860:4860::8888",),
    dhcp_enabled=False,
    ipv6_address_mode="slaac",
)


def vif(*ips: FixedIp, **overrides: Any) -> VifInfo:
    """A VIF on the test network with these fixed IPs."""
    base = VifInfo(
        port_id=PORT_ID, mac="fa:16:3e:9c:bf:3d", network_id=NETWORK_ID, mtu=1450, fixed_ips=ips
    )
    return replace(base, **overrides)


def make_source(**overrides: Any) -> InstanceMetadataSource:
    """A booted instance with a key pair, metadata and one IPv4 DHCP VIF."""
    base = InstanceMetadataSource(
        uuid=UUID,
        name="web-1",
        hostname="web-1.novalocal",
        project_id=PROJECT,
        user_id="5e2b7a4d9c3f4b1e8a6d0c9b7f3e1a2d",
        availability_zone="nova",
        launch_index=0,
        reservation_id="r-3fh8qk2m",
        created_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        image_id="155d900f-4e14-4e4c-a73d-069cbf4541e6",
        ec2_id=0x2A,
        image_ec2_id=0x1F,
        flavor_name="m1.small",
        key_pairs=(KeyPair("mykey", "ssh", PUBLIC_KEY),),
        user_data=None,
        metadata={"role": "webserver", "priority": "low"},
        vifs=(vif(DHCP_V4),),
        security_groups=("default", "web"),
    )
    return replace(base, **overrides)
