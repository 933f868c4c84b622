"""The input of the metadata trees: one frozen snapshot of an instance.

The compute service builds an `InstanceMetadataSource` from its rows (and the
network service's ports); everything below it is pure: no database, no I/O.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Nova names a VIF's host device "tap" + the port id, cut to a Linux interface name.
_NIC_NAME_LEN = 14


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A key pair injected into the guest."""

    name: str
    type: str  # "ssh" or "x509"
    public_key: str


@dataclass(frozen=True, slots=True)
class HostRoute:
    """One of a subnet's extra routes (Neutron `host_routes`)."""

    destination: str  # a CIDR
    nexthop: str


@dataclass(frozen=True, slots=True)
class FixedIp:
    """One fixed IP of a port, with what the guest needs to know of its subnet."""

    address: str
    cidr: str
    gateway: str | None = None
    dns_servers: tuple[str, ...] = ()
    host_routes: tuple[HostRoute, ...] = ()
    # True when the subnet has a DHCP server: the guest then configures itself by DHCP.
    dhcp_enabled: bool = True
    ipv6_address_mode: str | None = None  # "slaac", "dhcpv6-stateful", "dhcpv6-stateless"
    floating_ips: tuple[str, ...] = ()

    @property
    def version(self) -> int:
        """4 or 6."""
        return ipaddress.ip_address(self.address).version


@dataclass(frozen=True, slots=True)
class VifInfo:
    """One virtual NIC of the instance: a Neutron port and its fixed IPs."""

    port_id: str
    mac: str
    network_id: str
    mtu: int | None = None
    fixed_ips: tuple[FixedIp, ...] = ()
    # Neutron's binding:vif_type; Linux bridge ports are "bridge".
    vif_type: str = "bridge"
    devname: str | None = None

    @property
    def link_name(self) -> str:
        """The host device name, as Nova derives it from the port id."""
        return self.devname or ("tap" + self.port_id)[:_NIC_NAME_LEN]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A tagged device (Nova's device metadata): a NIC or a disk."""

    type: str  # "nic" or "disk"
    bus: str = "none"  # "pci", "usb", "scsi", "ide", "xen" or "none"
    address: str = "none"
    tags: tuple[str, ...] = ()
    mac: str | None = None  # NICs
    vlan: int | None = None  # NICs
    vf_trusted: bool | None = None  # NICs
    serial: str | None = None  # disks
    path: str | None = None  # disks


@dataclass(frozen=True, slots=True)
class InstanceMetadataSource:
    """Everything the metadata trees say about one instance."""

    uuid: str
    name: str  # the display name
    hostname: str  # as the guest should see it, domain included (e.g. "vm1.novalocal")
    project_id: str
    user_id: str | None = None
    availability_zone: str | None = "nova"
    launch_index: int = 0
    reservation_id: str = ""  # "r-xxxxxxxx"
    created_at: datetime | None = None
    image_id: str = ""  # the Glance id; "" when booted from a volume
    # EC2-style integer ids, rendered i-%08x / ami-%08x; no image → ami-id null.
    ec2_id: int = 0
    image_ec2_id: int | None = None
    flavor_name: str = ""
    key_pairs: tuple[KeyPair, ...] = ()
    user_data: bytes | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # Shown only on a config drive, never by the metadata API.
    admin_pass: str | None = None
    # vendor_data.json, and vendor_data2.json's "static" member.
    vendor_data: dict[str, Any] = field(default_factory=dict)
    # Other vendor_data2.json members (Nova's DynamicJSON targets), by name.
    dynamic_vendor_data: dict[str, Any] = field(default_factory=dict)
    devices: tuple[DeviceInfo, ...] = ()
    vifs: tuple[VifInfo, ...] = ()
    # The encrypted password the guest posted; None until it does.
    password: str | None = None
    security_groups: tuple[str, ...] = ()
    # The EC2 block-device-mapping, from the names the guest sees its disks under.
    root_device_name: str | None = "/dev/vda"
    ephemeral_device_names: tuple[str, ...] = ()
    swap_device_name: str | None = None
    volume_device_names: tuple[str, ...] = ()
    dedicated_cpus: tuple[int, ...] = ()
