"""Volume states as data: which API actions each state allows, and where the agent takes them."""

from __future__ import annotations

CREATING = "creating"
AVAILABLE = "available"
DELETING = "deleting"
EXTENDING = "extending"
ERROR = "error"
ERROR_DELETING = "error_deleting"
ERROR_EXTENDING = "error_extending"
IN_USE = "in-use"
RESERVED = "reserved"
ATTACHING = "attaching"
DETACHING = "detaching"
BACKING_UP = "backing-up"
RESTORING_BACKUP = "restoring-backup"
ERROR_RESTORING = "error_restoring"
DOWNLOADING = "downloading"
UPLOADING = "uploading"
REVERTING = "reverting"
MAINTENANCE = "maintenance"
AWAITING_TRANSFER = "awaiting-transfer"

# Attachment states (a volume_attachment row's attach_status).
ATTACH_RESERVED = "reserved"
ATTACH_ATTACHING = "attaching"
ATTACH_ATTACHED = "attached"
ATTACH_DETACHING = "detaching"
ATTACH_DETACHED = "detached"
ATTACH_ERROR_ATTACHING = "error_attaching"
ATTACH_ERROR_DETACHING = "error_detaching"

# Snapshot states.
SNAP_CREATING = "creating"
SNAP_AVAILABLE = "available"
SNAP_DELETING = "deleting"
SNAP_ERROR = "error"
SNAP_ERROR_DELETING = "error_deleting"
SNAP_RESTORING = "restoring"

# Snapshot states the agent still has work for (a restart converges them).
SNAP_TRANSITIONAL = (SNAP_CREATING, SNAP_DELETING)
# What a plain snapshot DELETE accepts.
SNAP_DELETABLE = (SNAP_AVAILABLE, SNAP_ERROR, SNAP_ERROR_DELETING)
# States an admin may set with a snapshot's os-reset_status (Cinder's list).
SNAP_RESETTABLE = (
    SNAP_CREATING,
    SNAP_AVAILABLE,
    SNAP_DELETING,
    SNAP_ERROR,
    SNAP_ERROR_DELETING,
    "unmanaging",
    "backing-up",
    SNAP_RESTORING,
)
# os-update_snapshot_status: the states a snapshot may move to from each it may be in.
SNAP_STATUS_UPDATES = {
    SNAP_CREATING: (SNAP_CREATING, SNAP_AVAILABLE, SNAP_ERROR),
    SNAP_DELETING: (SNAP_DELETING, SNAP_ERROR_DELETING),
}
# A volume may be snapshotted or cloned in these (in-use needs force before 3.66).
SNAPSHOTTABLE = (AVAILABLE, IN_USE)

# States the agent still has work for: a restart converges each of them.
TRANSITIONAL = (CREATING, DELETING, EXTENDING, REVERTING, UPLOADING)

# What a plain DELETE accepts (Cinder's volume API, without attachments or snapshots).
DELETABLE = (AVAILABLE, ERROR, "error_restoring", ERROR_EXTENDING, "error_managing")

# os-extend is accepted only from these (in-use needs attachments, which come later).
EXTENDABLE = (AVAILABLE,)
# From 3.42 an attached volume grows too (online extend, through its compute hosts).
EXTENDABLE_ONLINE = (AVAILABLE, IN_USE)

# States an admin may set with os-reset_status (Cinder's list).
RESETTABLE = (
    CREATING,
    AVAILABLE,
    DELETING,
    ERROR,
    ERROR_DELETING,
    "error_managing",
    "managing",
    "attaching",
    IN_USE,
    "detaching",
    "maintenance",
    "reserved",
)

# The agent's transitions: state it works on -> (state on success, state on failure).
AGENT_TRANSITIONS: dict[str, tuple[str | None, str]] = {
    CREATING: (AVAILABLE, ERROR),
    EXTENDING: (AVAILABLE, ERROR_EXTENDING),
    # A failed revert leaves the volume's data unknown: error, as Cinder.
    REVERTING: (AVAILABLE, ERROR),
    # Success removes the row (None).
    DELETING: (None, ERROR_DELETING),
}

# Backup states.
BACKUP_CREATING = "creating"
BACKUP_AVAILABLE = "available"
BACKUP_DELETING = "deleting"
BACKUP_RESTORING = "restoring"
BACKUP_ERROR = "error"
BACKUP_ERROR_DELETING = "error_deleting"
# Backup states the backup agent still has work for (a restart converges them).
BACKUP_TRANSITIONAL = (BACKUP_CREATING, BACKUP_DELETING, BACKUP_RESTORING)
# What a plain backup DELETE accepts.
BACKUP_DELETABLE = (BACKUP_AVAILABLE, BACKUP_ERROR)
# States an admin may set with a backup's os-reset_status (Cinder's list).
BACKUP_RESETTABLE = (BACKUP_AVAILABLE, BACKUP_ERROR)
# A volume may be backed up in these (in-use needs force).
BACKUPABLE = (AVAILABLE, IN_USE)

# Generic volume group states (groups have no data of their own: available at once).
GROUP_CREATING = "creating"
GROUP_AVAILABLE = "available"
GROUP_DELETING = "deleting"
GROUP_ERROR = "error"
# What a group DELETE accepts, and the states an admin may set with reset_status.
GROUP_DELETABLE = (GROUP_AVAILABLE, GROUP_ERROR)
GROUP_RESETTABLE = (GROUP_CREATING, GROUP_AVAILABLE, GROUP_DELETING, GROUP_ERROR, "updating")
# A group's volumes may be added or removed in these (Cinder's lists).
GROUP_ADDABLE = (AVAILABLE, IN_USE)
GROUP_REMOVABLE = (AVAILABLE, IN_USE, ERROR, ERROR_DELETING)

# Group snapshot states.
GROUP_SNAP_CREATING = "creating"
GROUP_SNAP_AVAILABLE = "available"
GROUP_SNAP_DELETING = "deleting"
GROUP_SNAP_ERROR = "error"
GROUP_SNAP_DELETABLE = (GROUP_SNAP_AVAILABLE, GROUP_SNAP_ERROR)
GROUP_SNAP_RESETTABLE = (
    GROUP_SNAP_CREATING,
    GROUP_SNAP_AVAILABLE,
    GROUP_SNAP_DELETING,
    GROUP_SNAP_ERROR,
)
