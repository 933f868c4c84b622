"""/v3/domains and /v3/projects, with project tags."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Response

from stackling.common import errors
from stackling.common.context import RequestContext
from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, Query, enforce
from stackling.identity.api.schemas import (
    DomainCreateBody,
    DomainUpdateBody,
    ProjectCreateBody,
    ProjectUpdateBody,
    TagsBody,
)
from stackling.identity.models import Project
from stackling.identity.service import assignments, resources
from stackling.identity.service.core import Identity
from stackling.identity.service.users import fetch_user

router = APIRouter(tags=["resources"])


# -- domains -------------------------------------------------------------------


@router.get("/domains")
async def list_domains(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List domains."""
    enforce(ctx, "identity:list_domains")
    rows = await resources.list_domains(idn, query)
    return views.collection(base, "domains", "domains", [views.domain(base, r, t) for r, t in rows])


@router.post("/domains", status_code=201)
async def create_domain(body: DomainCreateBody, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Create a domain."""
    enforce(ctx, "identity:create_domain")
    fields = body.domain.fields()
    explicit_id = fields.pop("explicit_domain_id", None)
    row, tags = await resources.create_project(
        idn, {**fields, "is_domain": True}, explicit_id=explicit_id
    )
    return {"domain": views.domain(base, row, tags)}


@router.get("/domains/{domain_id}")
async def get_domain(domain_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a domain."""
    enforce(ctx, "identity:get_domain", {"domain_id": domain_id})
    row, tags = await resources.get_domain(idn, domain_id)
    return {"domain": views.domain(base, row, tags)}


@router.patch("/domains/{domain_id}")
async def update_domain(
    domain_id: str, body: DomainUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a domain."""
    enforce(ctx, "identity:update_domain", {"domain_id": domain_id})
    row, tags = await resources.update_project(idn, domain_id, body.domain.fields(), as_domain=True)
    return {"domain": views.domain(base, row, tags)}


@router.delete("/domains/{domain_id}", status_code=204)
async def delete_domain(domain_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a disabled domain and what it holds."""
    enforce(ctx, "identity:delete_domain", {"domain_id": domain_id})
    if domain_id == resources.DEFAULT_DOMAIN_ID:
        raise errors.Forbidden("The default domain cannot be deleted.")
    await resources.delete_domain(idn, domain_id)
    return Response(status_code=204)


# -- projects -------------------------------------------------------------------


@router.get("/projects")
async def list_projects(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List projects; a domain reader sees the projects of their domain."""
    if not ctx.is_admin and ctx.domain_id and "domain_id" not in query:
        query = {**query, "domain_id": ctx.domain_id}
    enforce(ctx, "identity:list_projects", {"domain_id": query.get("domain_id")})
    rows = await resources.list_projects(idn, query)
    return views.collection(
        base, "projects", "projects", [views.project(base, r, t) for r, t in rows]
    )


@router.post("/projects", status_code=201)
async def create_project(
    body: ProjectCreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Create a project (or a domain, with is_domain)."""
    enforce(ctx, "identity:create_project", {"domain_id": body.project.domain_id})
    row, tags = await resources.create_project(idn, body.project.fields())
    return {"project": views.project(base, row, tags)}


async def _visible_project(
    idn: Identity, ctx: RequestContext, project_id: str, action: str
) -> tuple[Project, list[str]]:
    if not ctx.is_admin and ctx.project_id != project_id and not ctx.domain_id:
        # As Keystone: whether a project the caller may not see exists is not revealed.
        enforce(ctx, action, {"project_id": project_id})
    row, tags = await resources.get_project(idn, project_id)
    enforce(ctx, action, {"project_id": row.id, "domain_id": row.domain_id})
    return row, tags


@router.get("/projects/{project_id}")
async def get_project(
    project_id: str, idn: IdentityDep, ctx: Context, base: Base, query: Query
) -> dict:
    """Show a project."""
    row, tags = await _visible_project(idn, ctx, project_id, "identity:get_project")
    body = views.project(base, row, tags)
    wanted = {k for k in _HIERARCHY_VIEWS if k in query}
    if wanted:
        parents, subtree = await resources.hierarchy(idn, project_id)
        if "parents_as_ids" in wanted:
            body["parents"] = views.parents_as_ids(parents)
        if "parents_as_list" in wanted:
            body["parents"] = [{"project": views.project(base, p, [])} for p in parents]
        if "subtree_as_ids" in wanted:
            body["subtree"] = views.subtree_as_ids(project_id, subtree)
        if "subtree_as_list" in wanted:
            body["subtree"] = [{"project": views.project(base, p, [])} for p in subtree]
    return {"project": body}


_HIERARCHY_VIEWS = ("parents_as_ids", "parents_as_list", "subtree_as_ids", "subtree_as_list")


@router.patch("/projects/{project_id}")
async def update_project(
    project_id: str, body: ProjectUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a project."""
    enforce(ctx, "identity:update_project", {"project_id": project_id})
    row, tags = await resources.update_project(idn, project_id, body.project.fields())
    return {"project": views.project(base, row, tags)}


@router.delete("/projects/{project_id}", status_code=204)
async def delete_project(project_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a leaf project."""
    enforce(ctx, "identity:delete_project", {"project_id": project_id})
    await resources.delete_project(idn, project_id)
    return Response(status_code=204)


@router.get("/users/{user_id}/projects")
async def list_user_projects(
    user_id: str, idn: IdentityDep, ctx: Context, base: Base, query: Query
) -> dict:
    """Projects on which a user holds a role."""
    enforce(ctx, "identity:list_user_projects", {"user_id": user_id})
    async with idn.db.session() as s:
        await fetch_user(s, user_id)
        ids = await assignments.user_project_ids(s, user_id)
    rows = await resources.list_projects(idn, query, only_ids=ids)
    return views.collection(
        base, f"users/{user_id}/projects", "projects", [views.project(base, r, t) for r, t in rows]
    )


# -- tags ---------------------------------------------------------------------------


@router.get("/projects/{project_id}/tags")
async def list_tags(project_id: str, idn: IdentityDep, ctx: Context) -> dict:
    """Tags of a project."""
    await _visible_project(idn, ctx, project_id, "identity:list_project_tags")
    return {"tags": await resources.project_tags(idn, project_id)}


@router.put("/projects/{project_id}/tags")
async def replace_tags(project_id: str, body: TagsBody, idn: IdentityDep, ctx: Context) -> dict:
    """Replace the tags of a project."""
    enforce(ctx, "identity:update_project_tags", {"project_id": project_id})
    return {"tags": await resources.replace_tags(idn, project_id, body.tags)}


@router.delete("/projects/{project_id}/tags", status_code=204)
async def delete_tags(project_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Remove every tag."""
    enforce(ctx, "identity:delete_project_tags", {"project_id": project_id})
    await resources.remove_tag(idn, project_id, None)
    return Response(status_code=204)


@router.get("/projects/{project_id}/tags/{tag}", status_code=204)
@router.head("/projects/{project_id}/tags/{tag}", status_code=204)
async def check_tag(project_id: str, tag: str, idn: IdentityDep, ctx: Context) -> Response:
    """204 when the project has the tag."""
    await _visible_project(idn, ctx, project_id, "identity:get_project_tag")
    if tag not in await resources.project_tags(idn, project_id):
        raise errors.NotFound(f"Tag {tag} not found on project {project_id}.")
    return Response(status_code=204)


@router.put("/projects/{project_id}/tags/{tag}", status_code=201)
async def add_tag(
    project_id: str, tag: str, idn: IdentityDep, ctx: Context, base: Base
) -> Response:
    """Add a tag."""
    enforce(ctx, "identity:create_project_tag", {"project_id": project_id})
    await resources.add_tag(idn, project_id, tag)
    # Headers are latin-1: a tag may hold any character, so the URL carries it escaped.
    location = f"{base}/projects/{project_id}/tags/{quote(tag, safe='')}"
    return Response(status_code=201, headers={"Location": location})


@router.delete("/projects/{project_id}/tags/{tag}", status_code=204)
async def delete_tag(project_id: str, tag: str, idn: IdentityDep, ctx: Context) -> Response:
    """Remove a tag."""
    enforce(ctx, "identity:delete_project_tag", {"project_id": project_id})
    await resources.remove_tag(idn, project_id, tag)
    return Response(status_code=204)
