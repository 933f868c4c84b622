"""/extensions: the legacy v2 extension list Nova still answers with (fixed since 2.1)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.compute.api.deps import V21, Context, Microversion
from stackling.compute.api.reply import reply

router = APIRouter(tags=["compute-extensions"])

# Every v2.1 extension is always on, so the list never changes; Nova gives them
# all one placeholder namespace and update time.
_NAMESPACE = "http://docs.openstack.org/compute/ext/fake_xml"
_UPDATED = "2014-12-03T00:00:00Z"

# (alias, name, description)
_EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("NMN", "Multinic", "Add and remove a server's fixed IPs."),
    ("OS-DCF", "DiskConfig", "Disk config of servers and images (AUTO or MANUAL)."),
    ("OS-EXT-AZ", "ExtendedAvailabilityZone", "A server's availability zone."),
    ("OS-EXT-IMG-SIZE", "ImageSize", "Image sizes in image listings."),
    ("OS-EXT-IPS", "ExtendedIps", "The type of each server address."),
    ("OS-EXT-IPS-MAC", "ExtendedIpsMac", "The MAC address of each server address."),
    ("OS-EXT-SRV-ATTR", "ExtendedServerAttributes", "Host, node and instance name of servers."),
    ("OS-EXT-STS", "ExtendedStatus", "vm_state, task_state and power_state of servers."),
    ("OS-FLV-DISABLED", "FlavorDisabled", "Whether a flavor is disabled."),
    ("OS-FLV-EXT-DATA", "FlavorExtraData", "Ephemeral disk size of flavors."),
    ("OS-SCH-HNT", "SchedulerHints", "Hints to the scheduler at server create."),
    ("OS-SRV-USG", "ServerUsage", "Launch and termination times of servers."),
    ("os-access-ips", "AccessIPs", "IPv4 and IPv6 access addresses of servers."),
    ("os-admin-actions", "AdminActions", "Reset state and network of servers."),
    ("os-admin-password", "AdminPassword", "Change a server's administrator password."),
    ("os-agents", "Agents", "Guest agent builds."),
    ("os-aggregates", "Aggregates", "Host aggregates."),
    ("os-assisted-volume-snapshots", "AssistedVolumeSnapshots", "Snapshots a host helps take."),
    ("os-attach-interfaces", "AttachInterfaces", "Attach and detach network interfaces."),
    ("os-availability-zone", "AvailabilityZone", "Availability zones."),
    ("os-baremetal-ext-status", "BareMetalExtStatus", "Status of bare metal nodes."),
    ("os-baremetal-nodes", "BareMetalNodes", "Bare metal nodes, read only."),
    ("os-block-device-mapping", "BlockDeviceMapping", "Block device mappings at create."),
    ("os-block-device-mapping-v2-boot", "BlockDeviceMappingV2Boot", "Boot from a volume."),
    ("os-cell-capacities", "CellCapacities", "Capacities of cells."),
    ("os-cells", "Cells", "Cells."),
    ("os-certificates", "Certificates", "Root and user certificates."),
    ("os-cloudpipe", "Cloudpipe", "VPN instances per project."),
    ("os-cloudpipe-update", "CloudpipeUpdate", "Update VPN instance settings."),
    ("os-config-drive", "ConfigDrive", "Config drives of servers."),
    ("os-console-auth-tokens", "ConsoleAuthTokens", "Connection details behind console tokens."),
    ("os-console-output", "ConsoleOutput", "A server's console log."),
    ("os-consoles", "Consoles", "Interactive consoles of servers."),
    ("os-create-backup", "CreateBackup", "Rotating backups of servers."),
    ("os-create-server-ext", "Createserverext", "Extended attributes at server create."),
    ("os-deferred-delete", "DeferredDelete", "Restore and force-delete soft-deleted servers."),
    ("os-evacuate", "Evacuate", "Rebuild the servers of a failed host elsewhere."),
    ("os-extended-evacuate-find-host", "ExtendedEvacuateFindHost", "Evacuate to any host."),
    ("os-extended-floating-ips", "ExtendedFloatingIps", "Floating IPs for a fixed address."),
    ("os-extended-hypervisors", "ExtendedHypervisors", "More hypervisor details."),
    ("os-extended-networks", "ExtendedNetworks", "More network details."),
    ("os-extended-quotas", "ExtendedQuotas", "Delete quotas, per-user quotas."),
    ("os-extended-rescue-with-image", "ExtendedRescueWithImage", "Rescue with an image."),
    ("os-extended-services", "ExtendedServices", "Disable services with a reason."),
    ("os-extended-services-delete", "ExtendedServicesDelete", "Delete services."),
    ("os-extended-volumes", "ExtendedVolumes", "Volumes attached to servers."),
    ("os-fixed-ips", "FixedIPs", "Fixed IP addresses."),
    ("os-flavor-access", "FlavorAccess", "Projects allowed to use private flavors."),
    ("os-flavor-extra-specs", "FlavorExtraSpecs", "Extra specs of flavors."),
    ("os-flavor-manage", "FlavorManage", "Create and delete flavors."),
    ("os-flavor-rxtx", "FlavorRxtx", "The rxtx factor of flavors."),
    ("os-flavor-swap", "FlavorSwap", "Swap sizes of flavors."),
    ("os-floating-ip-dns", "FloatingIpDns", "DNS entries of floating IPs."),
    ("os-floating-ip-pools", "FloatingIpPools", "Floating IP pools."),
    ("os-floating-ips", "FloatingIps", "Floating IP addresses."),
    ("os-floating-ips-bulk", "FloatingIpsBulk", "Floating IPs in bulk."),
    ("os-fping", "Fping", "Ping servers."),
    ("os-hide-server-addresses", "HideServerAddresses", "Hide addresses in some states."),
    ("os-hosts", "Hosts", "Hosts and what they offer."),
    ("os-hypervisor-status", "HypervisorStatus", "Status and state of hypervisors."),
    ("os-hypervisors", "Hypervisors", "Hypervisors."),
    ("os-instance-actions", "InstanceActions", "What was done to a server, and by whom."),
    ("os-instance_usage_audit_log", "OSInstanceUsageAuditLog", "Usage audit log of hosts."),
    ("os-keypairs", "Keypairs", "Key pairs."),
    ("os-lock-server", "LockServer", "Lock and unlock servers."),
    ("os-migrate-server", "MigrateServer", "Cold and live migration of servers."),
    ("os-migrations", "Migrations", "Migrations of servers."),
    ("os-multiple-create", "MultipleCreate", "Create several servers at once."),
    ("os-networks", "Networks", "Networks."),
    ("os-networks-associate", "NetworkAssociationSupport", "Associate networks with hosts."),
    ("os-pause-server", "PauseServer", "Pause and unpause servers."),
    ("os-personality", "Personality", "Files injected into servers."),
    ("os-preserve-ephemeral-rebuild", "PreserveEphemeralOnRebuild", "Keep ephemeral disks."),
    ("os-quota-class-sets", "QuotaClasses", "Quota classes."),
    ("os-quota-sets", "Quotas", "Quotas of projects and users."),
    ("os-rescue", "Rescue", "Rescue and unrescue servers."),
    ("os-security-group-default-rules", "SecurityGroupDefaultRules", "Default group rules."),
    ("os-security-groups", "SecurityGroups", "Security groups."),
    ("os-server-diagnostics", "ServerDiagnostics", "Diagnostics of servers."),
    ("os-server-external-events", "ServerExternalEvents", "Events from other services."),
    ("os-server-group-quotas", "ServerGroupQuotas", "Quotas on server groups."),
    ("os-server-groups", "ServerGroups", "Server groups."),
    ("os-server-list-multi-status", "ServerListMultiStatus", "List by several statuses."),
    ("os-server-password", "ServerPassword", "Encrypted server passwords."),
    ("os-server-sort-keys", "ServerSortKeys", "Sort server lists."),
    ("os-server-start-stop", "ServerStartStop", "Start and stop servers."),
    ("os-services", "Services", "Services."),
    ("os-shelve", "Shelve", "Shelve and unshelve servers."),
    ("os-simple-tenant-usage", "SimpleTenantUsage", "Usage per project."),
    ("os-suspend-server", "SuspendServer", "Suspend and resume servers."),
    ("os-tenant-networks", "OSTenantNetworks", "Networks of a project."),
    ("os-used-limits", "UsedLimits", "Used amounts in limits."),
    ("os-used-limits-for-admin", "UsedLimitsForAdmin", "Other projects' used limits."),
    ("os-user-data", "UserData", "User data of servers."),
    ("os-user-quotas", "UserQuotas", "Quotas per user."),
    ("os-virtual-interfaces", "VirtualInterfaces", "Virtual interfaces of servers."),
    ("os-volume-attachment-update", "VolumeAttachmentUpdate", "Swap an attached volume."),
    ("os-volumes", "Volumes", "Volumes and their attachments."),
)


def _extension(alias: str, name: str, description: str) -> dict[str, Any]:
    return {
        "alias": alias,
        "name": name,
        "description": description,
        "namespace": _NAMESPACE,
        "updated": _UPDATED,
        "links": [],
    }


@router.get(V21 + "/extensions")
async def list_extensions(ctx: Context, mv: Microversion) -> Response:
    """Every extension (any authenticated caller)."""
    return reply(mv, {"extensions": [_extension(*row) for row in _EXTENSIONS]})


@router.get(V21 + "/extensions/{alias}")
async def show_extension(alias: str, ctx: Context, mv: Microversion) -> Response:
    """One extension by alias."""
    for row in _EXTENSIONS:
        if row[0] == alias:
            return reply(mv, {"extension": _extension(*row)})
    raise errors.NotFound(f"Extension {alias} could not be found.")
