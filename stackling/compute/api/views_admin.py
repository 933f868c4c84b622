"""os-hosts, os-migrations and the usage audit log as Nova shows them."""

from __future__ import annotations

from typing import Any

from stackling.common.microversion import Version
from stackling.compute import models as m
from stackling.compute.api.deps import Links
from stackling.compute.api.views_misc import timestamp
from stackling.compute.service.audit_log import AuditReport
from stackling.compute.service.migrations import LIVE, LIVE_IN_PROGRESS, MigrationRecord
from stackling.compute.service.os_hosts import HostEntry


def host_entry(entry: HostEntry) -> dict[str, str]:
    """A service of a host in GET /os-hosts."""
    return {"host_name": entry.host_name, "service": entry.service, "zone": entry.zone}


def migration(record: MigrationRecord, mv: Version, links: Links) -> dict[str, Any]:
    """A migration in GET /os-migrations; more fields at 2.23, 2.59 and 2.80."""
    row = record.migration
    body: dict[str, Any] = {
        "id": row.id,
        "status": row.status,
        "instance_uuid": row.instance_uuid,
        "source_node": row.source_node,
        "source_compute": row.source_compute,
        "dest_node": row.dest_node,
        "dest_compute": row.dest_compute,
        "dest_host": record.dest_host,
        "old_instance_type_id": record.old_instance_type_id,
        "new_instance_type_id": record.new_instance_type_id,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }
    if mv.at_least("2.23"):
        body["migration_type"] = row.migration_type
        # Only a live migration still running can be looked at under its server.
        if row.migration_type == LIVE and row.status in LIVE_IN_PROGRESS:
            body["links"] = links.pair(f"servers/{row.instance_uuid}/migrations", row.id)
    if mv.at_least("2.59"):
        body["uuid"] = row.uuid
    if mv.at_least("2.80"):
        body["user_id"] = row.user_id
        body["project_id"] = row.project_id
    return body


def live_migration(row: m.Migration, mv: Version) -> dict[str, Any]:
    """A live migration in flight in GET /servers/{id}/migrations[/{mid}]."""
    body: dict[str, Any] = {
        "id": row.id,
        "server_uuid": row.instance_uuid,
        "status": row.status,
        "source_node": row.source_node,
        "source_compute": row.source_compute,
        "dest_node": row.dest_node,
        "dest_compute": row.dest_compute,
        "dest_host": None,
        # This cloud keeps no transfer progress.
        "memory_total_bytes": None,
        "memory_processed_bytes": None,
        "memory_remaining_bytes": None,
        "disk_total_bytes": None,
        "disk_processed_bytes": None,
        "disk_remaining_bytes": None,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }
    if mv.at_least("2.59"):
        body["uuid"] = row.uuid
    if mv.at_least("2.80"):
        body["user_id"] = row.user_id
        body["project_id"] = row.project_id
    return body


def _period(value: Any) -> str:
    # Nova prints the period's bounds as Python prints a naive datetime.
    return str(value.replace(tzinfo=None))


def audit_log(report: AuditReport) -> dict[str, Any]:
    """GET /os-instance_usage_audit_log[/{before}]: every host done, none with errors."""
    count = len(report.instances)
    return {
        "period_beginning": _period(report.begin),
        "period_ending": _period(report.end),
        "num_hosts": count,
        "num_hosts_done": count,
        "num_hosts_running": 0,
        "num_hosts_not_run": 0,
        "hosts_not_run": [],
        "total_instances": report.total_instances,
        "total_errors": 0,
        "overall_status": "ALL hosts done. 0 errors.",
        "log": {
            host: {
                "state": "DONE",
                "instances": instances,
                "errors": 0,
                "message": f"Counted {instances} instances that ran on {host} in the period.",
            }
            for host, instances in report.instances.items()
        },
    }
