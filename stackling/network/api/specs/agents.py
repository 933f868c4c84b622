"""The agent resource's attributes (Neutron's `agent` extension)."""

from __future__ import annotations

from stackling.network.api import attributes as a

AGENT = a.Spec(
    "agent",
    "agents",
    (
        a.Attr("id", filter=True, sort=True),
        a.Attr("agent_type", filter=True, sort=True),
        a.Attr("binary", filter=True, sort=True),
        a.Attr("topic", filter=True, sort=True),
        a.Attr("host", filter=True, sort=True),
        a.Attr("admin_state_up", put=True, convert=a.to_boolean, filter=True, sort=True),
        a.Attr("description", put=True, validate=a.string(255, allow_none=True), filter=True),
        a.Attr("availability_zone", filter=True),
        a.Attr("alive"),
        a.Attr("configurations"),
        a.Attr("resources_synced"),
        a.Attr("created_at"),
        a.Attr("started_at"),
        a.Attr("heartbeat_timestamp"),
    ),
)
