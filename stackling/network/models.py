"""Network tables: the whole Neutron schema this cloud serves, from networks to floating IPs.

Every API resource carries Neutron's standard attributes (description,
revision_number, created_at, updated_at) through `StandardAttrs`. Where two
requests could race for the same thing, a constraint decides: an address
(UNIQUE network_id + ip_address), a MAC (UNIQUE network_id + mac_address), a
segment (the allocation table's key), a floating address, a default security
group, a duplicate rule. Children of one resource are not API resources and
go with it (ON DELETE CASCADE); a reference that must block a delete has no
cascade, and the service layer answers 409 before the database would refuse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, declared_attr, foreign, mapped_column, relationship

from stackling.db.base import Base, UTCDateTime

UUID = String(36)
# Long enough for any IPv6 address or prefix in text form.
ADDRESS = String(64)
NAME = String(255)
PROJECT = String(255)


def now() -> dt.datetime:
    """The current time to the second (Neutron shows timestamps without fractions)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Tag(Base):
    """A tag on any tagged resource, named by its collection and id."""

    __tablename__ = "network_tags"
    __table_args__ = (Index("ix_network_tags_tag", "resource_type", "tag"),)

    # The resource's collection name ("networks", "ports"...): ids are unique per collection.
    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    tag: Mapped[str] = mapped_column(NAME, primary_key=True)


class StandardAttrs:
    """Neutron's standard attributes; the id, tags and timestamps of an API resource."""

    # The collection name tags of this resource are filed under.
    tag_type: str = ""

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    description: Mapped[str] = mapped_column(NAME, default="")
    revision_number: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)

    @declared_attr
    def tags(cls) -> Mapped[list[Tag]]:
        """The resource's tags (loaded on request: lazy loading has no place in asyncio)."""
        return relationship(
            Tag,
            primaryjoin=lambda: and_(
                foreign(Tag.resource_id) == cls.id,  # type: ignore[attr-defined]
                Tag.resource_type == cls.tag_type,
            ),
            viewonly=True,
            lazy="raise",
            order_by=Tag.tag,
        )


# -- networks and segments ---------------------------------------------------------


class Network(StandardAttrs, Base):
    """A layer-2 network."""

    __tablename__ = "network_networks"
    tag_type = "networks"

    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    # router:external
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    # The default external network for auto-allocated topologies (is_default).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)
    dns_domain: Mapped[str] = mapped_column(NAME, default="")

    segments: Mapped[list[Segment]] = relationship(
        lazy="raise", order_by="Segment.segment_index", passive_deletes=True
    )
    subnets: Mapped[list[Subnet]] = relationship(
        lazy="raise", order_by="(Subnet.created_at, Subnet.id)", viewonly=True
    )


class Segment(StandardAttrs, Base):
    """One segment of a network: how its frames travel (flat, vxlan, local)."""

    __tablename__ = "network_segments"
    __table_args__ = (UniqueConstraint("network_id", "segment_index"),)
    tag_type = "segments"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("network_networks.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(NAME)
    network_type: Mapped[str] = mapped_column(String(32))
    physical_network: Mapped[str | None] = mapped_column(NAME)
    segmentation_id: Mapped[int | None] = mapped_column(Integer)
    segment_index: Mapped[int] = mapped_column(Integer, default=0)


class SegmentAllocation(Base):
    """What a segment holds exclusively: a VNI of a type, or a whole flat physical network.

    The key spells "none" as '' and 0 rather than NULL so that the primary key
    itself refuses a second holder (NULLs never collide in a unique index).
    Local segments hold nothing and have no row.
    """

    __tablename__ = "network_segment_allocations"

    network_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    physical_network: Mapped[str] = mapped_column(NAME, primary_key=True)
    segmentation_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[str] = mapped_column(
        ForeignKey("network_segments.id", ondelete="CASCADE"), unique=True
    )


# -- subnet pools and subnets ------------------------------------------------------


class SubnetPool(StandardAttrs, Base):
    """A pool of prefixes subnets are carved from."""

    __tablename__ = "network_subnetpools"
    tag_type = "subnetpools"

    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Addresses (not prefixes) a project may take from this pool; None: no limit.
    default_quota: Mapped[int | None] = mapped_column(Integer)
    address_scope_id: Mapped[str | None] = mapped_column(UUID)

    prefixes: Mapped[list[SubnetPoolPrefix]] = relationship(
        lazy="raise", order_by="SubnetPoolPrefix.cidr", passive_deletes=True
    )


class SubnetPoolPrefix(Base):
    """A prefix of a subnet pool."""

    __tablename__ = "network_subnetpool_prefixes"

    subnetpool_id: Mapped[str] = mapped_column(
        ForeignKey("network_subnetpools.id", ondelete="CASCADE"), primary_key=True
    )
    cidr: Mapped[str] = mapped_column(ADDRESS, primary_key=True)


class Subnet(StandardAttrs, Base):
    """An IP range on a network, with the addresses ports may be given."""

    __tablename__ = "network_subnets"
    tag_type = "subnets"

    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("network_networks.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(NAME, default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(ADDRESS)
    gateway_ip: Mapped[str | None] = mapped_column(ADDRESS)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16))
    # No cascade: a pool with subnets cannot be deleted.
    subnetpool_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_subnetpools.id"), index=True
    )
    segment_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_segments.id", ondelete="SET NULL")
    )
    dns_publish_fixed_ip: Mapped[bool] = mapped_column(Boolean, default=False)

    network: Mapped[Network] = relationship(lazy="raise", viewonly=True)
    allocation_pools: Mapped[list[AllocationPool]] = relationship(
        lazy="raise", order_by="AllocationPool.id", passive_deletes=True
    )
    dns_nameservers: Mapped[list[DnsNameserver]] = relationship(
        lazy="raise", order_by="DnsNameserver.position", passive_deletes=True
    )
    host_routes: Mapped[list[HostRoute]] = relationship(
        lazy="raise", order_by="(HostRoute.destination, HostRoute.nexthop)", passive_deletes=True
    )


class AllocationPool(Base):
    """A range of a subnet that addresses are allocated from, first to last inclusive."""

    __tablename__ = "network_allocation_pools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("network_subnets.id", ondelete="CASCADE"), index=True
    )
    first_ip: Mapped[str] = mapped_column(ADDRESS)
    last_ip: Mapped[str] = mapped_column(ADDRESS)


class DnsNameserver(Base):
    """A DNS server of a subnet; `position` keeps the order the user gave."""

    __tablename__ = "network_dns_nameservers"

    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("network_subnets.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class HostRoute(Base):
    """A static route a subnet's DHCP hands out."""

    __tablename__ = "network_host_routes"

    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("network_subnets.id", ondelete="CASCADE"), primary_key=True
    )
    destination: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    nexthop: Mapped[str] = mapped_column(ADDRESS, primary_key=True)


# -- ports -------------------------------------------------------------------------


class Port(StandardAttrs, Base):
    """A port: a MAC and addresses on a network, plugged into a device or not yet."""

    __tablename__ = "network_ports"
    __table_args__ = (
        UniqueConstraint("network_id", "mac_address"),
        Index("ix_network_ports_device", "device_id"),
        Index("ix_network_ports_network_owner", "network_id", "device_owner"),
    )
    tag_type = "ports"

    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    # No cascade: the service removes a network's remaining (DHCP) ports itself.
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"))
    name: Mapped[str] = mapped_column(NAME, default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(NAME, default="")
    device_owner: Mapped[str] = mapped_column(NAME, default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # binding:* (the host's agent reads these; only admins see most of them).
    binding_host_id: Mapped[str] = mapped_column(NAME, default="")
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vif_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dns_name: Mapped[str] = mapped_column(NAME, default="")

    fixed_ips: Mapped[list[IPAllocation]] = relationship(
        lazy="raise", order_by="IPAllocation.id", passive_deletes=True
    )
    security_group_bindings: Mapped[list[PortSecurityGroup]] = relationship(
        lazy="raise", order_by="PortSecurityGroup.security_group_id", passive_deletes=True
    )
    allowed_address_pairs: Mapped[list[AllowedAddressPair]] = relationship(
        lazy="raise", order_by="AllowedAddressPair.id", passive_deletes=True
    )
    extra_dhcp_opts: Mapped[list[ExtraDhcpOpt]] = relationship(
        lazy="raise", order_by="ExtraDhcpOpt.id", passive_deletes=True
    )


class IPAllocation(Base):
    """An address a port holds; the unique key is what prevents handing it out twice."""

    __tablename__ = "network_ip_allocations"
    __table_args__ = (
        UniqueConstraint("network_id", "ip_address"),
        Index("ix_network_ip_allocations_subnet", "subnet_id"),
        Index("ix_network_ip_allocations_port", "port_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"))
    ip_address: Mapped[str] = mapped_column(ADDRESS)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("network_subnets.id", ondelete="CASCADE"))
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"))


class AllowedAddressPair(Base):
    """A MAC/address pair a port may also send from (port security lets it through)."""

    __tablename__ = "network_allowed_address_pairs"
    __table_args__ = (UniqueConstraint("port_id", "mac_address", "ip_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"))
    mac_address: Mapped[str] = mapped_column(String(32))
    ip_address: Mapped[str] = mapped_column(ADDRESS)


class ExtraDhcpOpt(Base):
    """A DHCP option given to one port (dnsmasq tag:value)."""

    __tablename__ = "network_extra_dhcp_opts"
    __table_args__ = (UniqueConstraint("port_id", "opt_name", "ip_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"))
    opt_name: Mapped[str] = mapped_column(String(64))
    opt_value: Mapped[str] = mapped_column(NAME)
    ip_version: Mapped[int] = mapped_column(Integer, default=4)


# -- security groups ---------------------------------------------------------------


class SecurityGroup(StandardAttrs, Base):
    """A named set of rules ports are filtered by."""

    __tablename__ = "network_security_groups"
    tag_type = "security_groups"

    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)

    rules: Mapped[list[SecurityGroupRule]] = relationship(
        lazy="raise",
        order_by="(SecurityGroupRule.created_at, SecurityGroupRule.id)",
        foreign_keys="SecurityGroupRule.security_group_id",
        passive_deletes=True,
    )


class DefaultSecurityGroup(Base):
    """Which group is a project's `default`; the key makes a second one impossible."""

    __tablename__ = "network_default_security_groups"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), unique=True
    )


class SecurityGroupRule(StandardAttrs, Base):
    """One rule of a security group."""

    __tablename__ = "network_security_group_rules"
    __table_args__ = (UniqueConstraint("security_group_id", "fingerprint"),)
    tag_type = "security_group_rules"

    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE")
    )
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True
    )
    remote_ip_prefix: Mapped[str | None] = mapped_column(ADDRESS)
    remote_address_group_id: Mapped[str | None] = mapped_column(UUID)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    # What the rule matches, normalised: two rules matching the same traffic collide here.
    fingerprint: Mapped[str] = mapped_column(String(255))


class PortSecurityGroup(Base):
    """A security group applied to a port (no cascade from the group: in use is 409)."""

    __tablename__ = "network_port_security_groups"
    __table_args__ = (Index("ix_network_port_security_groups_group", "security_group_id"),)

    port_id: Mapped[str] = mapped_column(
        ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True
    )
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id"), primary_key=True
    )


# -- routers and floating IPs ------------------------------------------------------


class Router(StandardAttrs, Base):
    """A router between project networks and, through its gateway, an external network."""

    __tablename__ = "network_routers"
    tag_type = "routers"

    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # external_gateway_info: the network, the port holding its external fixed ips, SNAT.
    gw_network_id: Mapped[str | None] = mapped_column(ForeignKey("network_networks.id"))
    gw_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_ports.id", ondelete="SET NULL")
    )
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    distributed: Mapped[bool] = mapped_column(Boolean, default=False)
    ha: Mapped[bool] = mapped_column(Boolean, default=False)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)

    ports: Mapped[list[RouterPort]] = relationship(lazy="raise", passive_deletes=True)
    routes: Mapped[list[RouterRoute]] = relationship(
        lazy="raise",
        order_by="(RouterRoute.destination, RouterRoute.nexthop)",
        passive_deletes=True,
    )


class RouterPort(Base):
    """A port a router owns: an interface on a project subnet, or its gateway."""

    __tablename__ = "network_router_ports"

    router_id: Mapped[str] = mapped_column(
        ForeignKey("network_routers.id", ondelete="CASCADE"), index=True
    )
    port_id: Mapped[str] = mapped_column(
        ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True
    )
    # The port's device_owner (network:router_interface, network:router_gateway).
    port_type: Mapped[str] = mapped_column(NAME)


class RouterRoute(Base):
    """An extra route of a router."""

    __tablename__ = "network_router_routes"

    router_id: Mapped[str] = mapped_column(
        ForeignKey("network_routers.id", ondelete="CASCADE"), primary_key=True
    )
    destination: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    nexthop: Mapped[str] = mapped_column(ADDRESS, primary_key=True)


class FloatingIP(StandardAttrs, Base):
    """An external address mapped (or ready to be mapped) to a port's fixed address."""

    __tablename__ = "network_floating_ips"
    __table_args__ = (
        UniqueConstraint("floating_network_id", "floating_ip_address"),
        Index("ix_network_floating_ips_fixed_port", "fixed_port_id"),
        Index("ix_network_floating_ips_router", "router_id"),
    )
    tag_type = "floatingips"

    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id"))
    # The port on the external network that holds the address.
    floating_port_id: Mapped[str] = mapped_column(
        ForeignKey("network_ports.id", ondelete="CASCADE"), unique=True
    )
    floating_ip_address: Mapped[str] = mapped_column(ADDRESS)
    fixed_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_ports.id", ondelete="SET NULL")
    )
    fixed_ip_address: Mapped[str | None] = mapped_column(ADDRESS)
    router_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_routers.id", ondelete="SET NULL")
    )
    last_known_router_id: Mapped[str | None] = mapped_column(UUID)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    dns_name: Mapped[str] = mapped_column(NAME, default="")
    dns_domain: Mapped[str] = mapped_column(NAME, default="")


class AutoAllocatedTopology(Base):
    """A project's auto-allocated network and router; the key allows one per project.

    Concurrent requests each build a topology and race to insert this row: the
    losers find the winner's and remove what they built (as Neutron does).
    """

    __tablename__ = "network_auto_allocated_topologies"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    # Deleting the network forgets the topology: the next request builds a new one.
    network_id: Mapped[str] = mapped_column(
        ForeignKey("network_networks.id", ondelete="CASCADE"), index=True
    )
    router_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_routers.id", ondelete="SET NULL"), index=True
    )


# -- quotas and agents -------------------------------------------------------------


class Quota(Base):
    """A project's own limit for one resource (absent: the configured default)."""

    __tablename__ = "network_quotas"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class Agent(Base):
    """A data-plane agent (DHCP, L3, L2) on a host, with its last heartbeat."""

    __tablename__ = "network_agents"
    __table_args__ = (UniqueConstraint("agent_type", "host"),)

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    agent_type: Mapped[str] = mapped_column(NAME)
    binary: Mapped[str] = mapped_column(NAME)
    topic: Mapped[str] = mapped_column(NAME)
    host: Mapped[str] = mapped_column(NAME)
    availability_zone: Mapped[str | None] = mapped_column(NAME)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(NAME)
    configurations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resources_synced: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    heartbeat_timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class NetworkDhcpAgent(Base):
    """Which DHCP agent serves a network."""

    __tablename__ = "network_dhcp_agent_bindings"

    network_id: Mapped[str] = mapped_column(
        ForeignKey("network_networks.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[str] = mapped_column(
        ForeignKey("network_agents.id", ondelete="CASCADE"), primary_key=True
    )


class RouterL3Agent(Base):
    """Which L3 agent hosts a router."""

    __tablename__ = "network_router_l3_agent_bindings"

    router_id: Mapped[str] = mapped_column(
        ForeignKey("network_routers.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[str] = mapped_column(
        ForeignKey("network_agents.id", ondelete="CASCADE"), primary_key=True
    )


# Every tagged model by the collection its tags are filed under.
TAGGED: dict[str, type[StandardAttrs]] = {
    model.tag_type: model
    for model in (Network, Subnet, SubnetPool, Port, SecurityGroup, Router, FloatingIP)
}
