"""Quota sets, limits and usage reports as Nova shows them."""

from __future__ import annotations

from typing import Any

from stackling.common.microversion import Version
from stackling.compute.api.views_misc import timestamp
from stackling.compute.service.quota_sets import QuotaView
from stackling.compute.service.usage import ServerUsage, TenantUsage


def quota_detail(view: QuotaView) -> dict[str, Any]:
    """GET /os-quota-sets/{project}/detail: limit, in_use and (always 0) reserved per resource."""
    return {
        key: {"limit": limit, "in_use": view.used.get(key, 0), "reserved": 0}
        for key, limit in view.limits.items()
    }


def limits(view: QuotaView, mv: Version) -> dict[str, Any]:
    """GET /limits: absolute limits and usage; no rate limits."""
    lim, used = view.limits, view.used
    absolute: dict[str, int] = {
        "maxTotalInstances": lim["instances"],
        "maxTotalCores": lim["cores"],
        "maxTotalRAMSize": lim["ram"],
        "maxServerMeta": lim["metadata_items"],
        "maxTotalKeypairs": lim["key_pairs"],
        "maxServerGroups": lim["server_groups"],
        "maxServerGroupMembers": lim["server_group_members"],
        "totalInstancesUsed": used.get("instances", 0),
        "totalCoresUsed": used.get("cores", 0),
        "totalRAMUsed": used.get("ram", 0),
        "totalServerGroupsUsed": used.get("server_groups", 0),
    }
    if not mv.at_least("2.39"):
        absolute["maxImageMeta"] = lim["metadata_items"]
    if not mv.at_least("2.57"):
        absolute["maxPersonality"] = lim["injected_files"]
        absolute["maxPersonalitySize"] = lim["injected_file_content_bytes"]
    if not mv.at_least("2.36"):
        # Network limits belong to the network service; Nova shows them unlimited and unused.
        absolute.update(
            maxSecurityGroups=-1, maxSecurityGroupRules=-1, maxTotalFloatingIps=-1,
            totalFloatingIpsUsed=0, totalSecurityGroupsUsed=0,
        )  # fmt: skip
    return {"limits": {"absolute": absolute, "rate": []}}


def server_usage(u: ServerUsage) -> dict[str, Any]:
    """One server in a usage report."""
    inst = u.instance
    return {
        "instance_id": inst.uuid,
        "name": inst.display_name,
        "tenant_id": inst.project_id,
        "flavor": u.flavor_name,
        "hours": u.hours,
        "vcpus": u.vcpus,
        "memory_mb": u.memory_mb,
        "local_gb": u.local_gb,
        "started_at": timestamp(inst.launched_at),
        "ended_at": timestamp(inst.terminated_at),
        "state": u.state,
        "uptime": u.uptime,
    }


def tenant_usage(usage: TenantUsage, *, detailed: bool) -> dict[str, Any]:
    """A project's usage over the period (its servers when detailed)."""
    body: dict[str, Any] = {
        "tenant_id": usage.tenant_id,
        "start": timestamp(usage.start),
        "stop": timestamp(usage.stop),
        "total_hours": usage.total_hours,
        "total_vcpus_usage": usage.total("vcpus"),
        "total_memory_mb_usage": usage.total("memory_mb"),
        "total_local_gb_usage": usage.total("local_gb"),
    }
    if detailed:
        body["server_usages"] = [server_usage(u) for u in usage.servers]
    return body
