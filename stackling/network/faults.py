"""Neutron's errors and its fault format: `{"NeutronError": {"type", "message", "detail"}}`.

Clients (neutronclient, openstacksdk, Terraform) branch on `type`, which in
Neutron is the name of the exception class that was raised. The errors below
are named the same way, so the class name is the type; errors raised outside
this package (a body that is not JSON, a route that does not exist) get the
name of the webob exception Neutron would have answered with.
"""

from __future__ import annotations

from typing import Any

from stackling.common import errors

# What Neutron calls a fault that is not one of its own exceptions, by status.
_HTTP_TYPES = {
    400: "HTTPBadRequest",
    401: "HTTPUnauthorized",
    403: "HTTPForbidden",
    404: "HTTPNotFound",
    405: "HTTPMethodNotAllowed",
    409: "HTTPConflict",
    412: "HTTPPreconditionFailed",
    413: "HTTPRequestEntityTooLarge",
    415: "HTTPUnsupportedMediaType",
    500: "HTTPInternalServerError",
    501: "HTTPNotImplemented",
    503: "HTTPServiceUnavailable",
}
_NOT_FOUND = "The resource could not be found."
_INTERNAL = "Request Failed: internal server error while processing your request."


class NeutronFault:
    """Marks an error whose class name is its Neutron `type`."""


def neutron_fault(err: errors.StacklingError) -> dict[str, Any]:
    """The body Neutron gives for `err`."""
    message = err.message
    if isinstance(err, NeutronFault):
        kind = type(err).__name__
    else:
        kind = _HTTP_TYPES.get(err.status, "HTTPInternalServerError")
        if err.status == 404 and message.startswith("The resource could not be found"):
            # The router's wording names the path; Neutron's does not.
            message = _NOT_FOUND
        elif err.status == 405:
            message = "The method is not allowed for this resource."
        elif err.status >= 500 and type(err) is errors.StacklingError:
            message = _INTERNAL
    return {"NeutronError": {"type": kind, "message": message, "detail": ""}}


# -- 400 ---------------------------------------------------------------------------


class BadRequest(NeutronFault, errors.BadRequest):
    """Neutron's generic BadRequest: 'Bad <resource> request: <msg>.'."""

    def __init__(self, resource: str, msg: str) -> None:
        super().__init__(f"Bad {resource} request: {msg}.")


class InvalidInput(NeutronFault, errors.BadRequest):
    """Input that fails a rule beyond its attribute's own validation."""

    def __init__(self, error_message: str) -> None:
        super().__init__(f"Invalid input for operation: {error_message}.")


class TenantIdProjectIdFilterConflict(NeutronFault, errors.BadRequest):
    """Both spellings of the owner as filters."""

    def __init__(self) -> None:
        super().__init__("Both tenant_id and project_id passed as filters.")


class InvalidAllocationPool(NeutronFault, errors.BadRequest):
    """An allocation pool that is not a range of addresses."""

    def __init__(self, pool: str) -> None:
        super().__init__(f"The allocation pool {pool} is not valid.")


class OutOfBoundsAllocationPool(NeutronFault, errors.BadRequest):
    """An allocation pool reaching outside its subnet."""

    def __init__(self, pool: str, subnet_cidr: str) -> None:
        super().__init__(f"The allocation pool {pool} spans beyond the subnet cidr {subnet_cidr}.")


class InvalidIpForSubnet(NeutronFault, errors.BadRequest):
    """A fixed IP outside the subnet it names."""

    def __init__(self, ip_address: str) -> None:
        super().__init__(f"IP address {ip_address} is not a valid IP for the specified subnet.")


class InvalidIpForNetwork(NeutronFault, errors.BadRequest):
    """A fixed IP in none of the network's subnets."""

    def __init__(self, ip_address: str) -> None:
        super().__init__(
            f"IP address {ip_address} is not a valid IP for any of the subnets on the "
            "specified network."
        )


class InvalidCIDR(NeutronFault, errors.BadRequest):
    """A prefix that does not parse."""

    def __init__(self, value: object) -> None:
        super().__init__(f"Invalid CIDR {value} given as IP prefix.")


class MinPrefixSubnetAllocationError(NeutronFault, errors.BadRequest):
    """A prefix length shorter than the pool allows."""

    def __init__(self, prefixlen: int, min_prefixlen: int) -> None:
        super().__init__(
            f"Unable to allocate subnet with prefix length {prefixlen}, minimum allowed "
            f"prefix is {min_prefixlen}."
        )


class MaxPrefixSubnetAllocationError(NeutronFault, errors.BadRequest):
    """A prefix length longer than the pool allows."""

    def __init__(self, prefixlen: int, max_prefixlen: int) -> None:
        super().__init__(
            f"Unable to allocate subnet with prefix length {prefixlen}, maximum allowed "
            f"prefix is {max_prefixlen}."
        )


class SubnetAllocationError(NeutronFault, errors.Conflict):
    """No prefix of the asked size is left in the pool."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Failed to allocate subnet: {reason}.")


class IllegalSubnetPoolPrefixUpdate(NeutronFault, errors.BadRequest):
    """An update that would drop prefixes from a pool."""

    def __init__(self, msg: str) -> None:
        super().__init__(f"Illegal update to prefixes: {msg}.")


class DNSNameServersExhausted(NeutronFault, errors.BadRequest):
    """More DNS servers than a subnet may have."""

    def __init__(self, subnet_id: str, quota: int) -> None:
        super().__init__(
            f"Unable to complete operation for {subnet_id}. The number of DNS nameservers "
            f"exceeds the limit {quota}."
        )


class HostRoutesExhausted(NeutronFault, errors.BadRequest):
    """More host routes than a subnet may have."""

    def __init__(self, subnet_id: str, quota: int) -> None:
        super().__init__(
            f"Unable to complete operation for {subnet_id}. The number of host routes "
            f"exceeds the limit {quota}."
        )


class EmptySubnetPoolPrefixList(NeutronFault, errors.BadRequest):
    """A subnet pool without prefixes."""

    def __init__(self) -> None:
        super().__init__("Empty subnet pool prefix list.")


class PrefixVersionMismatch(NeutronFault, errors.BadRequest):
    """IPv4 and IPv6 prefixes in one pool."""

    def __init__(self) -> None:
        super().__init__("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.")


class IllegalSubnetPoolPrefixBounds(NeutronFault, errors.BadRequest):
    """Prefix lengths that contradict each other."""

    def __init__(self, prefix_type: str, prefixlen: int, base_type: str, base_len: int) -> None:
        super().__init__(
            f"Illegal prefix bounds: {prefix_type}={prefixlen}, {base_type}={base_len}."
        )


class SubnetPoolDeleteError(NeutronFault, errors.BadRequest):
    """A pool subnets were allocated from."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Unable to delete subnet pool: {reason}.")


class SecurityGroupRuleInvalidProtocol(NeutronFault, errors.BadRequest):
    """A protocol neither known by name nor a number 0-255."""

    def __init__(self, protocol: object, values: str) -> None:
        super().__init__(
            f"Security group rule protocol {protocol} not supported. Only protocol values "
            f"{values} and integer representations [0 to 255] are supported."
        )


class PortSecurityAndIPRequiredForSecurityGroups(NeutronFault, errors.BadRequest):
    """Security groups on a port without port security."""

    def __init__(self) -> None:
        super().__init__(
            "Port security must be enabled and port must have an IP address in order to use "
            "security groups."
        )


class AllowedAddressPairExhausted(NeutronFault, errors.BadRequest):
    """More allowed address pairs than a port may have."""

    def __init__(self, quota: int) -> None:
        super().__init__(f"The number of allowed address pair exceeds the maximum {quota}.")


class DuplicateAddressPairInRequest(NeutronFault, errors.BadRequest):
    """The same pair twice."""

    def __init__(self, mac_address: str, ip_address: str) -> None:
        super().__init__(
            f"Request contains duplicate address pair: mac_address {mac_address} ip_address "
            f"{ip_address}."
        )


class ExternalIpAddressExhausted(NeutronFault, errors.BadRequest):
    """The external network has no IPv4 subnet to take a floating address from."""

    def __init__(self, net_id: str) -> None:
        super().__init__(f"Unable to find any IP address on external network {net_id}.")


class InvalidRoutes(NeutronFault, errors.BadRequest):
    """Extra routes a router cannot have (extraroute)."""

    def __init__(self, routes: object, reason: str) -> None:
        super().__init__(f"Invalid format for routes: {routes}, {reason}.")


class RoutesExhausted(NeutronFault, errors.BadRequest):
    """More extra routes than a router may have."""

    def __init__(self, router_id: str, quota: int) -> None:
        super().__init__(
            f"Unable to complete operation for {router_id}. The number of routes exceeds "
            f"the maximum {quota}."
        )


# -- 403 ---------------------------------------------------------------------------


class PolicyNotAuthorized(NeutronFault, errors.Forbidden):
    """Policy refuses the action (or an attribute of it) to the caller."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"({rule}) is disallowed by policy")


# -- 404 ---------------------------------------------------------------------------


class NetworkNotFound(NeutronFault, errors.NotFound):
    """No such network, or not one the caller may see."""

    def __init__(self, net_id: str) -> None:
        super().__init__(f"Network {net_id} could not be found.")


class AgentNotFound(NeutronFault, errors.NotFound):
    """No such agent, or the caller is not an admin."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"Agent {agent_id} could not be found.")


class SubnetNotFound(NeutronFault, errors.NotFound):
    """No such subnet, or not one the caller may see."""

    def __init__(self, subnet_id: str) -> None:
        super().__init__(f"Subnet {subnet_id} could not be found.")


class PortNotFound(NeutronFault, errors.NotFound):
    """No such port, or not one the caller may see."""

    def __init__(self, port_id: str) -> None:
        super().__init__(f"Port {port_id} could not be found.")


class SubnetPoolNotFound(NeutronFault, errors.NotFound):
    """No such subnet pool, or not one the caller may see."""

    def __init__(self, subnetpool_id: str) -> None:
        super().__init__(f"Subnet pool {subnetpool_id} could not be found.")


class SecurityGroupNotFound(NeutronFault, errors.NotFound):
    """No such security group, or not one the caller may see."""

    def __init__(self, id: str) -> None:
        super().__init__(f"Security group {id} does not exist")


class SecurityGroupRuleNotFound(NeutronFault, errors.NotFound):
    """No such rule, or not one the caller may see."""

    def __init__(self, id: str) -> None:
        super().__init__(f"Security group rule {id} does not exist")


class RouterNotFound(NeutronFault, errors.NotFound):
    """No such router, or not one the caller may see."""

    def __init__(self, router_id: str) -> None:
        super().__init__(f"Router {router_id} could not be found.")


class RouterInterfaceNotFound(NeutronFault, errors.NotFound):
    """The router has no interface on that port."""

    def __init__(self, router_id: str, port_id: str) -> None:
        super().__init__(f"Router {router_id} does not have an interface with id {port_id}.")


class RouterInterfaceNotFoundForSubnet(NeutronFault, errors.NotFound):
    """The router has no interface on that subnet."""

    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router {router_id} has no interface on subnet {subnet_id}.")


class FloatingIPNotFound(NeutronFault, errors.NotFound):
    """No such floating IP, or not one the caller may see."""

    def __init__(self, floatingip_id: str) -> None:
        super().__init__(f"Floating IP {floatingip_id} could not be found.")


class ExternalGatewayForFloatingIPNotFound(NeutronFault, errors.NotFound):
    """No router joins the port's subnet to the floating IP's network."""

    def __init__(self, external_network_id: str, subnet_id: str, port_id: str) -> None:
        super().__init__(
            f"External network {external_network_id} is not reachable from subnet "
            f"{subnet_id}.  Therefore, cannot associate Port {port_id} with a Floating IP."
        )


class TagNotFound(NeutronFault, errors.NotFound):
    """The resource does not carry that tag."""

    def __init__(self, tag: str, resource: str, resource_id: str) -> None:
        super().__init__(f"Tag {tag} could not be found for {resource} {resource_id}.")


class AvailabilityZoneNotFound(NeutronFault, errors.NotFound):
    """A hint naming a zone this cloud does not have."""

    def __init__(self, availability_zone: str) -> None:
        super().__init__(f"AvailabilityZone {availability_zone} could not be found.")


class QuotaResourceUnknown(NeutronFault, errors.NotFound):
    """A quota update naming a resource that has no quota."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(f"Unknown quota resources {unknown}.")


# -- 409 ---------------------------------------------------------------------------


class NetworkInUse(NeutronFault, errors.Conflict):
    """The network still has ports in use."""

    def __init__(self, net_id: str) -> None:
        super().__init__(
            f"Unable to complete operation on network {net_id}. There are one or more ports "
            "still in use on the network."
        )


class SubnetInUse(NeutronFault, errors.Conflict):
    """Ports other than DHCP ports still hold addresses of the subnet."""

    def __init__(self, subnet_id: str, reason: str | None = None) -> None:
        reason = reason or "One or more ports have an IP allocation from this subnet"
        super().__init__(f"Unable to complete operation on subnet {subnet_id}: {reason}.")


class SubnetPoolInUse(NeutronFault, errors.Conflict):
    """Subnets were allocated from the pool."""

    def __init__(self, subnet_pool_id: str, reason: str | None = None) -> None:
        reason = reason or "Two or more concurrent subnets allocated"
        super().__init__(f"Unable to complete operation on subnet pool {subnet_pool_id}. {reason}.")


class IpAddressGenerationFailure(NeutronFault, errors.Conflict):
    """No address is left for the port."""

    def __init__(self, net_id: str) -> None:
        super().__init__(f"No more IP addresses available on network {net_id}.")


class IpAddressInUse(NeutronFault, errors.Conflict):
    """The asked address belongs to another port."""

    def __init__(self, net_id: str, ip_address: str) -> None:
        super().__init__(
            f"Unable to complete operation for network {net_id}. The IP address {ip_address} "
            "is in use."
        )


class MacAddressInUse(NeutronFault, errors.Conflict):
    """The asked MAC belongs to another port of the network."""

    def __init__(self, net_id: str, mac: str) -> None:
        super().__init__(
            f"Unable to complete operation for network {net_id}. The mac address {mac} is in use."
        )


class TunnelIdInUse(NeutronFault, errors.Conflict):
    """The asked VNI is another network's."""

    def __init__(self, tunnel_id: int) -> None:
        super().__init__(f"Unable to create the network. The tunnel ID {tunnel_id} is in use.")


class FlatNetworkInUse(NeutronFault, errors.Conflict):
    """The physical network already carries a flat network."""

    def __init__(self, physical_network: str) -> None:
        super().__init__(
            f"Unable to create the flat network. Physical network {physical_network} is in use."
        )


class OverlappingAllocationPools(NeutronFault, errors.Conflict):
    """Two allocation pools of one subnet overlap."""

    def __init__(self, pool_1: str, pool_2: str, subnet_cidr: str) -> None:
        super().__init__(
            f"Found overlapping allocation pools: {pool_1} {pool_2} for subnet {subnet_cidr}."
        )


class GatewayConflictWithAllocationPools(NeutronFault, errors.Conflict):
    """The gateway lies inside an allocation pool."""

    def __init__(self, ip_address: str, pool: str) -> None:
        super().__init__(f"Gateway ip {ip_address} conflicts with allocation pool {pool}.")


class GatewayIpInUse(NeutronFault, errors.Conflict):
    """The gateway to change is held by a port."""

    def __init__(self, ip_address: str, port_id: str) -> None:
        super().__init__(
            f"Current gateway ip {ip_address} already in use by port {port_id}. Unable to update."
        )


class PortSecurityPortHasSecurityGroup(NeutronFault, errors.Conflict):
    """Port security turned off while groups remain."""

    def __init__(self) -> None:
        super().__init__(
            "Port has security group associated. Cannot disable port security or ip address "
            "until security group is removed"
        )


class AddressPairAndPortSecurityRequired(NeutronFault, errors.Conflict):
    """Address pairs on a port without port security."""

    def __init__(self) -> None:
        super().__init__(
            "Port Security must be enabled in order to have allowed address pairs on a port."
        )


class PortBound(NeutronFault, errors.Conflict):
    """A bound port's MAC cannot change."""

    def __init__(self, port_id: str, vif_type: str, old_mac: str, new_mac: str) -> None:
        super().__init__(
            f"Unable to complete operation on port {port_id}, port is already bound, port "
            f"type: {vif_type}, old_mac {old_mac}, new_mac {new_mac}."
        )


class OverQuota(NeutronFault, errors.Conflict):
    """Creating this would pass a quota (409 in Neutron, not 403)."""

    def __init__(self, overs: list[str]) -> None:
        super().__init__(f"Quota exceeded for resources: {sorted(overs)}.")


class SubnetPoolQuotaExceeded(NeutronFault, errors.Conflict):
    """The project holds the pool's default_quota of addresses already."""

    def __init__(self) -> None:
        super().__init__("Per-project subnet pool prefix quota exceeded.")


class InvalidSharedSetting(NeutronFault, errors.Conflict):
    """Unsharing a network other projects use."""

    def __init__(self, network: str) -> None:
        super().__init__(
            f"Unable to reconfigure sharing settings for network {network}. Multiple "
            "projects are using it."
        )


class SecurityGroupInUse(NeutronFault, errors.Conflict):
    """Ports still use the group."""

    def __init__(self, id: str) -> None:
        super().__init__(f"Security Group {id} in use.")


class SecurityGroupRuleExists(NeutronFault, errors.Conflict):
    """An identical rule is already in the group."""

    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Security group rule already exists. Rule id is {rule_id}.")


class SecurityGroupCannotRemoveDefault(NeutronFault, errors.Conflict):
    """Only an admin may delete a project's default group."""

    def __init__(self) -> None:
        super().__init__("Insufficient rights for removing default security group.")


class SecurityGroupCannotUpdateDefault(NeutronFault, errors.Conflict):
    """The default group keeps its name."""

    def __init__(self) -> None:
        super().__init__("Updating default security group not allowed.")


class SecurityGroupDefaultAlreadyExists(NeutronFault, errors.Conflict):
    """No second group may be called default."""

    def __init__(self) -> None:
        super().__init__("Default security group already exists.")


class ExternalNetworkInUse(NeutronFault, errors.Conflict):
    """Routers still have their gateway on the network."""

    def __init__(self, net_id: str) -> None:
        super().__init__(
            f"External network {net_id} cannot be updated to be made non-external, since it "
            "has existing gateway ports."
        )


class RouterInUse(NeutronFault, errors.Conflict):
    """The router still has interfaces."""

    def __init__(self, router_id: str, reason: str) -> None:
        # Neutron's wording has no full stop here.
        super().__init__(f"Router {router_id} {reason}")


class RouterInterfaceInUseByFloatingIP(NeutronFault, errors.Conflict):
    """Floating IPs reach their ports through this interface."""

    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(
            f"Router interface for subnet {subnet_id} on router {router_id} cannot be "
            "deleted, as it is required by one or more floating IPs."
        )


class RouterInterfaceInUseByRoute(NeutronFault, errors.Conflict):
    """Extra routes use a next hop on this interface."""

    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(
            f"Router interface for subnet {subnet_id} on router {router_id} cannot be "
            "deleted, as it is required by one or more routes."
        )


class RouterExternalGatewayInUseByFloatingIp(NeutronFault, errors.Conflict):
    """Floating IPs use the gateway that would go."""

    def __init__(self, router_id: str, net_id: str) -> None:
        super().__init__(
            f"Gateway cannot be updated for router {router_id}, since a gateway to external "
            f"network {net_id} is required by one or more floating IPs."
        )


class PortInUse(NeutronFault, errors.Conflict):
    """The port already belongs to a device."""

    def __init__(self, net_id: str, port_id: str, device_id: str) -> None:
        super().__init__(
            f"Unable to complete operation on port {port_id} for network {net_id}. Port "
            f"already has an attached device {device_id}."
        )


class ServicePortInUse(NeutronFault, errors.Conflict):
    """A router's or floating IP's port, which only its owner removes."""

    def __init__(self, port_id: str, reason: str) -> None:
        super().__init__(f"Port {port_id} cannot be deleted directly via the port API: {reason}.")


class FloatingIPPortAlreadyAssociated(NeutronFault, errors.Conflict):
    """The fixed address already has a floating IP on that network."""

    def __init__(
        self, floating_ip_address: str, fip_id: str, port_id: str, fixed_ip: str, net_id: str
    ) -> None:
        super().__init__(
            f"Cannot associate floating IP {floating_ip_address} ({fip_id}) with port "
            f"{port_id} using fixed IP {fixed_ip}, as that fixed IP already has a floating IP "
            f"on external network {net_id}."
        )


# -- 412 and 503 -------------------------------------------------------------------


class RevisionNumberConstraintFailed(NeutronFault, errors.StacklingError):
    """An If-Match revision that is no longer the resource's."""

    status = 412
    title = "Precondition Failed"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"Constrained to {expected}, but current revision is {current}")


class NoNetworkAvailable(NeutronFault, errors.ServiceUnavailable):
    """Every VNI of the range is taken."""

    def __init__(self) -> None:
        super().__init__(
            "Unable to create the network. No project network is available for allocation."
        )


class NetworkMacAddressGenerationFailure(NeutronFault, errors.ServiceUnavailable):
    """Every random MAC tried was taken."""

    def __init__(self, net_id: str) -> None:
        super().__init__(f"Unable to generate unique mac on network {net_id}.")
