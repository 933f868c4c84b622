"""Quota class sets (admin): /os-quota-class-sets/{class_name}."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.volume.api import schemas
from stackling.volume.api.deps import Body, CallDep
from stackling.volume.service import quota_classes

router = APIRouter(tags=["quota-classes"])


def _class_name(value: str) -> str:
    if not value.strip() or len(value) > 255:
        raise errors.BadRequest(
            "Invalid input received: quota_class_name has a minimum character requirement "
            "of 1 and a maximum of 255."
        )
    return value


@router.get("/os-quota-class-sets/{class_name}")
async def show_class(class_name: str, call: CallDep) -> Response:
    """A quota class's limits."""
    found = await quota_classes.show(call.svc, call.ctx, _class_name(class_name))
    return call.reply({"quota_class_set": {"id": class_name, **found}})


@router.put("/os-quota-class-sets/{class_name}")
async def update_class(class_name: str, call: CallDep, body: Body) -> Response:
    """Set a quota class's limits."""
    known = await quota_classes.known_resources(call.svc)
    new = schemas.quota_update({"quota_set": schemas.envelope(body, "quota_class_set")}, known)
    found = await quota_classes.update(call.svc, call.ctx, _class_name(class_name), new)
    return call.reply({"quota_class_set": found})
