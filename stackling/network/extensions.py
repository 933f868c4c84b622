"""The Neutron extensions this cloud implements, as data: exactly these are listed.

Clients decide what to try from this list (openstacksdk, Terraform and
Horizon check aliases), so an alias goes here in the same change that
implements it, and never before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Extension:
    """One extension as GET /v2.0/extensions shows it."""

    alias: str
    name: str
    description: str
    updated: str

    def as_dict(self) -> dict[str, Any]:
        """The API's view."""
        return {
            "alias": self.alias,
            "name": self.name,
            "description": self.description,
            "updated": self.updated,
            "links": [],
        }


EXTENSIONS: tuple[Extension, ...] = (
    Extension("agent", "agent", "The agent management extension.",
              "2013-02-03T10:00:00-00:00"),
    Extension("allowed-address-pairs", "Allowed Address Pairs",
              "Provides allowed address pairs", "2013-07-23T10:00:00-00:00"),
    Extension("auto-allocated-topology", "Auto Allocated Topology Services",
              "Auto Allocated Topology Services.", "2016-01-01T00:00:00-00:00"),
    Extension("availability_zone", "Availability Zone",
              "The availability zone extension.", "2015-01-01T10:00:00-00:00"),
    Extension("binding", "Port Binding",
              "Expose port bindings of a virtual port to external application",
              "2014-02-03T10:00:00-00:00"),
    Extension("default-subnetpools", "Default Subnetpools",
              "Provides ability to mark and use a subnetpool as the default.",
              "2016-02-18T18:00:00-00:00"),
    Extension("ext-gw-mode", "Neutron L3 Configurable external gateway mode",
              "Extension of the router abstraction for specifying whether SNAT should occur "
              "on the external gateway", "2013-03-28T10:00:00-00:00"),
    Extension("external-net", "Neutron external network",
              "Adds external network attribute to network resource.",
              "2013-01-14T10:00:00-00:00"),
    Extension("extra_dhcp_opt", "Neutron Extra DHCP options",
              "Extra options configuration for DHCP. For example PXE boot options to DHCP "
              "clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)",
              "2013-03-17T12:00:00-00:00"),
    Extension("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router",
              "2013-02-01T10:00:00-00:00"),
    Extension("extraroute-atomic", "Atomically add/remove extra routes",
              "Edit extra routes of a router on server side by atomically adding/removing "
              "extra routes", "2019-07-10T00:00:00+00:00"),
    Extension("filter-validation", "Filter parameters validation",
              "Provides validation on filter parameters.", "2018-03-21T10:00:00-00:00"),
    Extension("fip-port-details", "Floating IP Port Details Extension",
              "Add port_details attribute to Floating IP resource",
              "2018-04-09T10:00:00-00:00"),
    Extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource.",
              "2015-03-25T10:00:00-00:00"),
    Extension("net-mtu-writable", "Network MTU (writable)",
              "Provides a writable MTU attribute for a network resource.",
              "2017-07-12T00:00:00-00:00"),
    Extension("network_availability_zone", "Network Availability Zone",
              "Availability zone support for network.", "2015-01-01T10:00:00-00:00"),
    Extension("pagination", "Pagination support", "Extension that indicates that pagination "
              "is enabled.", "2016-06-12T00:00:00-00:00"),
    Extension("port-security", "Port Security", "Provides port security",
              "2012-07-23T10:00:00-00:00"),
    Extension("project-id", "project_id field enabled",
              "Extension that indicates that project_id field is enabled.",
              "2016-09-09T09:09:09-09:09"),
    Extension("provider", "Provider Network", "Expose mapping of virtual networks to "
              "physical networks", "2012-09-07T10:00:00-00:00"),
    Extension("quota_details", "Quota details management support",
              "Expose functions for quotas usage statistics per project",
              "2017-02-10T10:00:00-00:00"),
    Extension("quotas", "Quota management support", "Expose functions for quotas management "
              "per project", "2012-07-29T10:00:00-00:00"),
    Extension("revision-if-match", "If-Match constraints based on revision_number",
              "Extension indicating that If-Match based on revision_number is supported.",
              "2016-12-11T00:00:00-00:00"),
    Extension("router", "Neutron L3 Router",
              "Router abstraction for basic L3 forwarding between L2 Neutron networks and "
              "access to external networks via a NAT gateway.", "2012-07-20T10:00:00-00:00"),
    Extension("security-group", "security-group", "The security groups extension.",
              "2012-10-05T10:00:00-00:00"),
    Extension("sorting", "Sorting support", "Extension that indicates that sorting is "
              "enabled.", "2016-06-12T00:00:00-00:00"),
    Extension("standard-attr-description", "standard-attr-description",
              "Extension to add descriptions to standard attributes",
              "2016-02-10T10:00:00-00:00"),
    Extension("standard-attr-revisions", "Resource revision numbers",
              "This extension will display the revision number of neutron resources.",
              "2016-04-11T10:00:00-00:00"),
    Extension("standard-attr-tag", "Tag support for resources with standard attribute: "
              "subnet, trunk, network_segment_range, router, network, policy, subnetpool, "
              "port, security_group, floatingip",
              "Enables to set tag on resources with standard attribute.",
              "2017-01-01T00:00:00-00:00"),
    Extension("standard-attr-timestamp", "Resource timestamps",
              "Adds created_at and updated_at fields to all Neutron resources that have "
              "Neutron standard attributes.", "2016-09-12T10:00:00-00:00"),
    Extension("stateful-security-group", "Stateful security group",
              "Indicates if the security group is stateful or not",
              "2019-11-26T09:00:00-00:00"),
    Extension("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from "
              "a subnet pool", "2015-03-30T10:00:00-00:00"),
)  # fmt: skip

BY_ALIAS: dict[str, Extension] = {ext.alias: ext for ext in EXTENSIONS}
