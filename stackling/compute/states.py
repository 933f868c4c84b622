"""Nova's server state machine as data: vm/task states, the status shown, what each action needs.

An action is allowed when the server's vm_state and task_state are in its
row of ACTIONS; the service then sets the action's task_state with a
compare-and-set UPDATE, so two concurrent requests cannot both start.
"""

from __future__ import annotations

from dataclasses import dataclass

# vm_state: what the server is when no task runs.
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# task_state: what is happening to it now (None when idle).
SCHEDULING = "scheduling"
NETWORKING = "networking"
SPAWNING = "spawning"
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_PENDING_UPLOAD = "image_pending_upload"
IMAGE_UPLOADING = "image_uploading"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
REBUILDING = "rebuilding"
REBUILD_SPAWNING = "rebuild_spawning"
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
RESIZE_CONFIRMING = "resize_confirming"
DELETING = "deleting"
SHELVING = "shelving"
UNSHELVING = "unshelving"

_REBOOT_TASKS = {REBOOTING: "REBOOT", REBOOTING_HARD: "HARD_REBOOT"}
_RESIZE_TASKS = {RESIZE_PREP, RESIZE_MIGRATING, RESIZE_FINISH}

# vm_state -> (default status, {task_state: status that overrides it}).
_STATUS: dict[str, tuple[str, dict[str, str]]] = {
    ACTIVE: (
        "ACTIVE",
        {**_REBOOT_TASKS, REBUILDING: "REBUILD", REBUILD_SPAWNING: "REBUILD"}
        | dict.fromkeys(_RESIZE_TASKS, "RESIZE"),
    ),
    BUILDING: ("BUILD", {}),
    STOPPED: (
        "SHUTOFF",
        {REBUILDING: "REBUILD", REBUILD_SPAWNING: "REBUILD", REBOOTING_HARD: "HARD_REBOOT"}
        | dict.fromkeys(_RESIZE_TASKS, "RESIZE"),
    ),
    RESIZED: ("VERIFY_RESIZE", {RESIZE_REVERTING: "REVERT_RESIZE"}),
    PAUSED: ("PAUSED", {REBOOTING_HARD: "HARD_REBOOT"}),
    SUSPENDED: ("SUSPENDED", {REBOOTING_HARD: "HARD_REBOOT"}),
    RESCUED: ("RESCUE", {}),
    ERROR: ("ERROR", {REBUILDING: "REBUILD", REBUILD_SPAWNING: "REBUILD"}),
    DELETED: ("DELETED", {}),
    SOFT_DELETED: ("SOFT_DELETED", {}),
    SHELVED: ("SHELVED", {}),
    SHELVED_OFFLOADED: ("SHELVED_OFFLOADED", {}),
}

# status (as a `status=` filter) -> the vm_states it matches.
STATUS_TO_VM_STATES: dict[str, set[str]] = {}
for _vm, (_default, _overrides) in _STATUS.items():
    STATUS_TO_VM_STATES.setdefault(_default, set()).add(_vm)
    for _st in _overrides.values():
        STATUS_TO_VM_STATES.setdefault(_st, set()).add(_vm)


def status_of(vm_state: str, task_state: str | None) -> str:
    """The `status` Nova shows for a vm_state and task_state."""
    default, overrides = _STATUS.get(vm_state, ("UNKNOWN", {}))
    if task_state is not None and task_state in overrides:
        return overrides[task_state]
    return default


@dataclass(frozen=True, slots=True)
class Action:
    """What an action needs before it starts and the task_state it sets."""

    name: str
    vm_states: frozenset[str]
    task_states: frozenset[str | None]
    task_state: str | None


_IDLE: frozenset[str | None] = frozenset({None})


def _action(
    name: str, vm: set[str], task: str | None, tasks: frozenset[str | None] = _IDLE
) -> Action:
    return Action(name, frozenset(vm), tasks, task)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _action("reboot", {ACTIVE}, REBOOTING),
        _action(
            "reboot_hard",
            {ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR},
            REBOOTING_HARD,
            frozenset({None, REBOOTING, REBOOTING_HARD, PAUSING, UNPAUSING, SUSPENDING, RESUMING}),
        ),
        _action("stop", {ACTIVE, ERROR}, POWERING_OFF),
        _action("start", {STOPPED}, POWERING_ON),
        _action("pause", {ACTIVE}, PAUSING),
        _action("unpause", {PAUSED}, UNPAUSING),
        _action("suspend", {ACTIVE}, SUSPENDING),
        _action("resume", {SUSPENDED}, RESUMING),
        _action("rebuild", {ACTIVE, STOPPED, ERROR}, REBUILDING),
        _action("resize", {ACTIVE, STOPPED}, RESIZE_PREP),
        _action("confirm_resize", {RESIZED}, RESIZE_CONFIRMING),
        _action("revert_resize", {RESIZED}, RESIZE_REVERTING),
        _action("snapshot", {ACTIVE, STOPPED, PAUSED, SUSPENDED}, IMAGE_SNAPSHOT),
        _action("rescue", {ACTIVE, STOPPED, ERROR}, RESCUING),
        _action("unrescue", {RESCUED}, UNRESCUING),
        _action("set_admin_password", {ACTIVE}, None),
        _action("console", {ACTIVE}, None),
        _action("attach_interface", {ACTIVE, PAUSED, STOPPED}, None),
        _action("detach_interface", {ACTIVE, PAUSED, STOPPED}, None),
        _action("attach_volume", {ACTIVE, PAUSED, STOPPED, SUSPENDED, RESIZED}, None),
        _action("detach_volume", {ACTIVE, PAUSED, STOPPED, SUSPENDED, RESIZED}, None),
        _action("migrate", {ACTIVE, STOPPED}, None),
        _action("shelve", {ACTIVE, STOPPED, PAUSED, SUSPENDED}, SHELVING),
        _action("shelve_offload", {SHELVED}, None),
        _action("unshelve", {SHELVED, SHELVED_OFFLOADED}, UNSHELVING),
        _action("live_migrate", {ACTIVE, PAUSED}, None),
    )
}

# What a finished task leaves the server in: task_state -> vm_state (None: keep it).
FINAL_VM_STATE: dict[str, str | None] = {
    REBOOTING: ACTIVE,
    REBOOTING_HARD: ACTIVE,
    POWERING_OFF: STOPPED,
    POWERING_ON: ACTIVE,
    PAUSING: PAUSED,
    UNPAUSING: ACTIVE,
    SUSPENDING: SUSPENDED,
    RESUMING: ACTIVE,
    RESCUING: RESCUED,
    UNRESCUING: ACTIVE,
    IMAGE_SNAPSHOT: None,
    RESIZE_PREP: RESIZED,
    RESIZE_CONFIRMING: None,
    RESIZE_REVERTING: None,
    REBUILDING: None,
    SHELVING: SHELVED_OFFLOADED,
}
