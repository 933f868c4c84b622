"""Blocking helpers on libvirt domains (run in worker threads): ownership and state."""

from __future__ import annotations

import uuid as uuidlib

import libvirt

from stackling.compute.drivers.base import DriverError, InstanceNotFound, PowerState
from stackling.compute.drivers.libvirt.xml import NAMESPACE, owner_from_metadata

# libvirt's domain states -> Nova's power states (shut off with a managed save: SUSPENDED).
POWER_STATES: dict[int, PowerState] = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.SUSPENDED,
}
UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
    | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
)


def to_power_state(state: int, managed_save: bool) -> PowerState:
    """Nova's power state for a libvirt domain state."""
    power = POWER_STATES.get(state, PowerState.NOSTATE)
    if power == PowerState.SHUTDOWN and state == libvirt.VIR_DOMAIN_SHUTOFF and managed_save:
        return PowerState.SUSPENDED
    return power


def canonical_uuid(value: str) -> str | None:
    """The canonical form of an instance UUID, or None if `value` is not one."""
    try:
        parsed = uuidlib.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None
    return str(parsed)


def owner_of(dom: libvirt.virDomain) -> str | None:
    """The Stackling cloud a domain belongs to (None: not a Stackling domain)."""
    try:
        text = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE, 0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() in (libvirt.VIR_ERR_NO_DOMAIN_METADATA, libvirt.VIR_ERR_NO_DOMAIN):
            return None
        raise
    return owner_from_metadata(text)


def find(conn: libvirt.virConnect, uuid: str, owner: str) -> libvirt.virDomain | None:
    """The domain of instance `uuid` if it exists and is ours."""
    canonical = canonical_uuid(uuid)
    if canonical is None:
        return None
    try:
        dom = conn.lookupByUUIDString(canonical)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise
    return dom if owner_of(dom) == owner else None


def lookup(conn: libvirt.virConnect, uuid: str, owner: str) -> libvirt.virDomain:
    """The domain of instance `uuid`; InstanceNotFound when absent or another cloud's."""
    dom = find(conn, uuid, owner)
    if dom is None:
        raise InstanceNotFound(f"instance {uuid} not found on this host")
    return dom


def state_of(dom: libvirt.virDomain) -> PowerState:
    """The domain's power state."""
    state, _reason = dom.state()
    return to_power_state(state, state == libvirt.VIR_DOMAIN_SHUTOFF and has_save(dom))


# Pauses libvirt passes through on its way to another state (starting, saving, restoring).
TRANSIENT_PAUSES = {
    libvirt.VIR_DOMAIN_PAUSED_STARTING_UP,
    libvirt.VIR_DOMAIN_PAUSED_SAVE,
    libvirt.VIR_DOMAIN_PAUSED_MIGRATION,
    libvirt.VIR_DOMAIN_PAUSED_DUMP,
    libvirt.VIR_DOMAIN_PAUSED_SNAPSHOT,
    libvirt.VIR_DOMAIN_PAUSED_SHUTTING_DOWN,
}


def settled_state(dom: libvirt.virDomain) -> PowerState | None:
    """The domain's power state, or None while it is only passing through a pause."""
    state, reason = dom.state()
    if state == libvirt.VIR_DOMAIN_PAUSED and reason in TRANSIENT_PAUSES:
        return None
    return to_power_state(state, state == libvirt.VIR_DOMAIN_SHUTOFF and has_save(dom))


def has_save(dom: libvirt.virDomain) -> bool:
    """Whether the domain has a managed save image (it is suspended)."""
    return bool(dom.hasManagedSaveImage(0))


def owned(conn: libvirt.virConnect, owner: str) -> list[libvirt.virDomain]:
    """Every domain of this cloud, running or not."""
    mine = []
    for dom in conn.listAllDomains(0):
        try:
            if owner_of(dom) == owner:
                mine.append(dom)
        except libvirt.libvirtError as exc:
            # Undefined between listing and looking: it is nobody's any more.
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
    return mine


def is_gone(exc: libvirt.libvirtError) -> bool:
    """Whether a call failed because the domain no longer exists."""
    return exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN


def is_invalid_state(exc: libvirt.libvirtError) -> bool:
    """Whether a call failed because the domain was not in a state that allows it."""
    return exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID


# -- actions (each in a worker thread) -------------------------------------------------


def start_if_stopped(dom: libvirt.virDomain) -> None:
    """Start the domain unless it runs; a managed save is restored."""
    if not dom.isActive():
        dom.create()


def force_off(dom: libvirt.virDomain, *, drop_save: bool = False) -> None:
    """Pull the plug (and, with `drop_save`, forget any saved memory)."""
    try:
        if dom.isActive():
            dom.destroy()
    except libvirt.libvirtError as exc:
        if not is_invalid_state(exc):  # it went down by itself meanwhile
            raise
    if drop_save and has_save(dom):
        dom.managedSaveRemove(0)


def request_shutdown(dom: libvirt.virDomain) -> None:
    """Press the ACPI power button (nothing to do if it is already off)."""
    try:
        dom.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
    except libvirt.libvirtError as exc:
        if not is_invalid_state(exc):
            raise


def request_reboot(dom: libvirt.virDomain) -> None:
    """Press the ACPI power button; libvirt turns the guest's power-off into a reset."""
    try:
        dom.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)
    except libvirt.libvirtError as exc:
        if not is_invalid_state(exc):
            raise


def suspend_vcpus(dom: libvirt.virDomain) -> None:
    """Freeze the vCPUs (libvirt's "suspend" is Nova's pause)."""
    dom.suspend()


def resume_vcpus(dom: libvirt.virDomain) -> None:
    """Thaw the vCPUs."""
    dom.resume()


def managed_save(dom: libvirt.virDomain) -> None:
    """Save the memory to disk and stop (Nova's suspend)."""
    dom.managedSave(0)


def define_and_start(conn: libvirt.virConnect, uuid: str, xml: str, owner: str) -> None:
    """(Re)define our persistent domain and start it; a new one is undefined if it fails."""
    try:
        clash = conn.lookupByUUIDString(uuid)
    except libvirt.libvirtError as exc:
        if not is_gone(exc):
            raise
        clash = None
    # defineXML would silently replace another cloud's domain of the same UUID.
    if clash is not None and owner_of(clash) != owner:
        raise DriverError(f"a domain with UUID {uuid} belongs to another cloud")
    dom = conn.defineXML(xml)
    try:
        start_if_stopped(dom)
    except libvirt.libvirtError:
        if clash is None:
            dom.undefineFlags(UNDEFINE_FLAGS)
        raise


def destroy_owned(conn: libvirt.virConnect, uuid: str, owner: str) -> None:
    """Force our domain `uuid` off and undefine it; absent (or not ours) is fine."""
    dom = find(conn, uuid, owner)
    if dom is None:
        return
    try:
        force_off(dom)
        dom.undefineFlags(UNDEFINE_FLAGS)
    except libvirt.libvirtError as exc:
        if not is_gone(exc):
            raise
