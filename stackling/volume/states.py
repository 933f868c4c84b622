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

# States the agent still has work for: a restart converges each of them.
TRANSITIONAL = (CREATING, DELETING, EXTENDING)

# What a plain DELETE accepts (Cinder's volume API, without attachments or snapshots).
DELETABLE = (AVAILABLE, ERROR, "error_restoring", ERROR_EXTENDING, "error_managing")

# os-extend is accepted only from these (in-use needs attachments, which come later).
EXTENDABLE = (AVAILABLE,)

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
    # Success removes the row (None).
    DELETING: (None, ERROR_DELETING),
}
