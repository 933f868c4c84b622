"""/os-instance_usage_audit_log: the last completed audit period's report (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.compute.api import views_admin as views
from stackling.compute.api.deps import V21, ComputeDep, Context, Microversion
from stackling.compute.api.reply import reply
from stackling.compute.service import audit_log

router = APIRouter(tags=["compute-audit-log"])

A = V21 + "/os-instance_usage_audit_log"


@router.get(A)
async def latest_report(svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """The report of the last audit period completed by now."""
    report = await audit_log.report(svc, ctx)
    return reply(mv, {"instance_usage_audit_logs": views.audit_log(report)})


@router.get(A + "/{before}")
async def report_before(before: str, svc: ComputeDep, ctx: Context, mv: Microversion) -> Response:
    """The report of the last audit period completed before `YYYY-MM-DD HH:MM:SS[.ffffff]`."""
    report = await audit_log.report(svc, ctx, before)
    return reply(mv, {"instance_usage_audit_log": views.audit_log(report)})
