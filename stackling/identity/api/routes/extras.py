"""Admin extras: /v3/policies, domain configuration, OS-OAUTH1 consumers, OS-EP-FILTER."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from stackling.identity.api import views
from stackling.identity.api.deps import Base, Context, IdentityDep, Query, enforce
from stackling.identity.api.schemas import (
    ConsumerCreateBody,
    ConsumerUpdateBody,
    DomainConfigBody,
    EndpointGroupCreateBody,
    EndpointGroupUpdateBody,
    PolicyCreateBody,
    PolicyUpdateBody,
)
from stackling.identity.service import extras

router = APIRouter(tags=["extras"])

ADMIN = "identity:admin"
EP = "/OS-EP-FILTER"


# -- policies ----------------------------------------------------------------------------


@router.get("/policies")
async def list_policies(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List stored policies."""
    enforce(ctx, ADMIN)
    rows = await extras.list_policies(idn, query)
    return views.collection(base, "policies", "policies", [views.policy(base, r) for r in rows])


@router.post("/policies", status_code=201)
async def create_policy(body: PolicyCreateBody, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Store a policy."""
    enforce(ctx, ADMIN)
    return {"policy": views.policy(base, await extras.create_policy(idn, body.policy.fields()))}


@router.get("/policies/{policy_id}")
async def get_policy(policy_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a policy."""
    enforce(ctx, ADMIN)
    return {"policy": views.policy(base, await extras.get_policy(idn, policy_id))}


@router.patch("/policies/{policy_id}")
async def update_policy(
    policy_id: str, body: PolicyUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a policy."""
    enforce(ctx, ADMIN)
    row = await extras.update_policy(idn, policy_id, body.policy.fields())
    return {"policy": views.policy(base, row)}


@router.delete("/policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a policy."""
    enforce(ctx, ADMIN)
    await extras.delete_policy(idn, policy_id)
    return Response(status_code=204)


# -- domain configuration (defaults first: their paths are more specific) --------------


@router.get("/domains/config/default")
async def default_config(ctx: Context) -> dict:
    """Keystone's default domain configuration."""
    enforce(ctx, ADMIN)
    return {"config": extras.default_config()}


@router.get("/domains/config/{group}/default")
async def default_group_config(group: str, ctx: Context) -> dict:
    """The defaults of one group."""
    enforce(ctx, ADMIN)
    return {"config": extras.default_config(group)}


@router.get("/domains/config/{group}/{option}/default")
async def default_option_config(group: str, option: str, ctx: Context) -> dict:
    """The default of one option."""
    enforce(ctx, ADMIN)
    return {"config": extras.default_config(group, option)}


@router.put("/domains/{domain_id}/config")
async def create_config(
    domain_id: str, body: DomainConfigBody, idn: IdentityDep, ctx: Context
) -> JSONResponse:
    """Set a domain's configuration: 201 when it had none, 200 when replaced."""
    enforce(ctx, ADMIN)
    config, created = await extras.create_config(idn, domain_id, body.config)
    return JSONResponse({"config": config}, status_code=201 if created else 200)


# Keystone serves the same three methods at three depths; a path without a
# group (or option) must not read one from the query string, hence one route each.


@router.get("/domains/{domain_id}/config")
async def get_config(domain_id: str, idn: IdentityDep, ctx: Context) -> dict:
    """A domain's configuration."""
    enforce(ctx, ADMIN)
    return {"config": await extras.get_config(idn, domain_id)}


@router.get("/domains/{domain_id}/config/{group}")
async def get_config_group(domain_id: str, group: str, idn: IdentityDep, ctx: Context) -> dict:
    """One group of a domain's configuration."""
    enforce(ctx, ADMIN)
    return {"config": await extras.get_config(idn, domain_id, group)}


@router.get("/domains/{domain_id}/config/{group}/{option}")
async def get_config_option(
    domain_id: str, group: str, option: str, idn: IdentityDep, ctx: Context
) -> dict:
    """One option of a domain's configuration."""
    enforce(ctx, ADMIN)
    return {"config": await extras.get_config(idn, domain_id, group, option)}


@router.patch("/domains/{domain_id}/config")
async def update_config(
    domain_id: str, body: DomainConfigBody, idn: IdentityDep, ctx: Context
) -> dict:
    """Merge options into a domain's configuration."""
    enforce(ctx, ADMIN)
    return {"config": await extras.update_config(idn, domain_id, body.config)}


@router.patch("/domains/{domain_id}/config/{group}")
async def update_config_group(
    domain_id: str, group: str, body: DomainConfigBody, idn: IdentityDep, ctx: Context
) -> dict:
    """Merge options into one existing group."""
    enforce(ctx, ADMIN)
    return {"config": await extras.update_config(idn, domain_id, body.config, group)}


@router.patch("/domains/{domain_id}/config/{group}/{option}")
async def update_config_option(
    domain_id: str,
    group: str,
    option: str,
    body: DomainConfigBody,
    idn: IdentityDep,
    ctx: Context,
) -> dict:
    """Change one existing option (the body is {"config": {option: value}})."""
    enforce(ctx, ADMIN)
    return {"config": await extras.update_config(idn, domain_id, body.config, group, option)}


@router.delete("/domains/{domain_id}/config", status_code=204)
async def delete_config(domain_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a domain's configuration."""
    enforce(ctx, ADMIN)
    await extras.delete_config(idn, domain_id)
    return Response(status_code=204)


@router.delete("/domains/{domain_id}/config/{group}", status_code=204)
async def delete_config_group(
    domain_id: str, group: str, idn: IdentityDep, ctx: Context
) -> Response:
    """Delete one group of a domain's configuration."""
    enforce(ctx, ADMIN)
    await extras.delete_config(idn, domain_id, group)
    return Response(status_code=204)


@router.delete("/domains/{domain_id}/config/{group}/{option}", status_code=204)
async def delete_config_option(
    domain_id: str, group: str, option: str, idn: IdentityDep, ctx: Context
) -> Response:
    """Delete one option of a domain's configuration."""
    enforce(ctx, ADMIN)
    await extras.delete_config(idn, domain_id, group, option)
    return Response(status_code=204)


# -- OS-OAUTH1 consumers -------------------------------------------------------------------


@router.get("/OS-OAUTH1/consumers")
async def list_consumers(idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """List OAuth consumers."""
    enforce(ctx, ADMIN)
    rows = await extras.list_consumers(idn)
    return views.collection(
        base, "OS-OAUTH1/consumers", "consumers", [views.consumer(base, r) for r in rows]
    )


@router.post("/OS-OAUTH1/consumers", status_code=201)
async def create_consumer(
    body: ConsumerCreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Register a consumer (its secret is shown only here)."""
    enforce(ctx, ADMIN)
    row, secret = await extras.create_consumer(idn, body.consumer.fields())
    return {"consumer": views.consumer(base, row, secret)}


@router.get("/OS-OAUTH1/consumers/{consumer_id}")
async def get_consumer(consumer_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show a consumer."""
    enforce(ctx, ADMIN)
    return {"consumer": views.consumer(base, await extras.get_consumer(idn, consumer_id))}


@router.patch("/OS-OAUTH1/consumers/{consumer_id}")
async def update_consumer(
    consumer_id: str, body: ConsumerUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update a consumer's description."""
    enforce(ctx, ADMIN)
    row = await extras.update_consumer(idn, consumer_id, body.consumer.fields())
    return {"consumer": views.consumer(base, row)}


@router.delete("/OS-OAUTH1/consumers/{consumer_id}", status_code=204)
async def delete_consumer(consumer_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete a consumer."""
    enforce(ctx, ADMIN)
    await extras.delete_consumer(idn, consumer_id)
    return Response(status_code=204)


# -- OS-EP-FILTER endpoint groups ----------------------------------------------------------


@router.get(f"{EP}/endpoint_groups")
async def list_endpoint_groups(idn: IdentityDep, ctx: Context, base: Base, query: Query) -> dict:
    """List endpoint groups."""
    enforce(ctx, ADMIN)
    rows = await extras.list_endpoint_groups(idn, query)
    return views.collection(
        base,
        "OS-EP-FILTER/endpoint_groups",
        "endpoint_groups",
        [views.endpoint_group(base, r) for r in rows],
    )


@router.post(f"{EP}/endpoint_groups", status_code=201)
async def create_endpoint_group(
    body: EndpointGroupCreateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Create an endpoint group."""
    enforce(ctx, ADMIN)
    fields = body.endpoint_group.model_dump(exclude_unset=True)
    return {
        "endpoint_group": views.endpoint_group(
            base, await extras.create_endpoint_group(idn, fields)
        )
    }


@router.get(f"{EP}/endpoint_groups/{{group_id}}")
async def get_endpoint_group(group_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Show an endpoint group."""
    enforce(ctx, ADMIN)
    return {
        "endpoint_group": views.endpoint_group(base, await extras.get_endpoint_group(idn, group_id))
    }


@router.head(f"{EP}/endpoint_groups/{{group_id}}", status_code=200)
async def check_endpoint_group(group_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """200 when the endpoint group exists."""
    enforce(ctx, ADMIN)
    await extras.get_endpoint_group(idn, group_id)
    return Response(status_code=200)


@router.patch(f"{EP}/endpoint_groups/{{group_id}}")
async def update_endpoint_group(
    group_id: str, body: EndpointGroupUpdateBody, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Update an endpoint group."""
    enforce(ctx, ADMIN)
    fields = body.endpoint_group.model_dump(exclude_unset=True)
    row = await extras.update_endpoint_group(idn, group_id, fields)
    return {"endpoint_group": views.endpoint_group(base, row)}


@router.delete(f"{EP}/endpoint_groups/{{group_id}}", status_code=204)
async def delete_endpoint_group(group_id: str, idn: IdentityDep, ctx: Context) -> Response:
    """Delete an endpoint group."""
    enforce(ctx, ADMIN)
    await extras.delete_endpoint_group(idn, group_id)
    return Response(status_code=204)


@router.get(f"{EP}/endpoint_groups/{{group_id}}/endpoints")
async def list_group_endpoints(group_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Endpoints an endpoint group selects."""
    enforce(ctx, ADMIN)
    rows = await extras.endpoints_in_group(idn, group_id)
    return views.collection(
        base,
        f"OS-EP-FILTER/endpoint_groups/{group_id}/endpoints",
        "endpoints",
        [views.endpoint(base, e) for e in rows],
    )


@router.get(f"{EP}/endpoint_groups/{{group_id}}/projects")
async def list_group_projects(group_id: str, idn: IdentityDep, ctx: Context, base: Base) -> dict:
    """Projects an endpoint group is associated with."""
    enforce(ctx, ADMIN)
    rows = await extras.projects_for_group(idn, group_id)
    return views.collection(
        base,
        f"OS-EP-FILTER/endpoint_groups/{group_id}/projects",
        "projects",
        [views.project(base, p, t) for p, t in rows],
    )


@router.put(f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}", status_code=204)
async def add_group_to_project(
    group_id: str, project_id: str, idn: IdentityDep, ctx: Context
) -> Response:
    """Associate an endpoint group with a project."""
    enforce(ctx, ADMIN)
    await extras.add_group_to_project(idn, group_id, project_id)
    return Response(status_code=204)


@router.get(f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}")
async def get_group_in_project(
    group_id: str, project_id: str, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """The association of an endpoint group with a project."""
    enforce(ctx, ADMIN)
    await extras.check_group_in_project(idn, group_id, project_id)
    return {"project_endpoint_group": views.project_endpoint_group(base, group_id, project_id)}


@router.head(f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}", status_code=200)
async def check_group_in_project(
    group_id: str, project_id: str, idn: IdentityDep, ctx: Context
) -> Response:
    """200 when the endpoint group is associated with the project."""
    enforce(ctx, ADMIN)
    await extras.check_group_in_project(idn, group_id, project_id)
    return Response(status_code=200)


@router.delete(f"{EP}/endpoint_groups/{{group_id}}/projects/{{project_id}}", status_code=204)
async def remove_group_from_project(
    group_id: str, project_id: str, idn: IdentityDep, ctx: Context
) -> Response:
    """Dissociate an endpoint group from a project."""
    enforce(ctx, ADMIN)
    await extras.remove_group_from_project(idn, group_id, project_id)
    return Response(status_code=204)


# -- OS-EP-FILTER project <-> endpoint -----------------------------------------------------


@router.put(f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}", status_code=204)
async def add_endpoint_to_project(
    project_id: str, endpoint_id: str, idn: IdentityDep, ctx: Context
) -> Response:
    """Associate an endpoint with a project."""
    enforce(ctx, ADMIN)
    await extras.add_endpoint_to_project(idn, project_id, endpoint_id)
    return Response(status_code=204)


@router.get(f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}", status_code=204)
@router.head(f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}", status_code=204)
async def check_endpoint_in_project(
    project_id: str, endpoint_id: str, idn: IdentityDep, ctx: Context
) -> Response:
    """204 when the endpoint is associated with the project."""
    enforce(ctx, ADMIN)
    await extras.check_endpoint_in_project(idn, project_id, endpoint_id)
    return Response(status_code=204)


@router.delete(f"{EP}/projects/{{project_id}}/endpoints/{{endpoint_id}}", status_code=204)
async def remove_endpoint_from_project(
    project_id: str, endpoint_id: str, idn: IdentityDep, ctx: Context
) -> Response:
    """Dissociate an endpoint from a project."""
    enforce(ctx, ADMIN)
    await extras.remove_endpoint_from_project(idn, project_id, endpoint_id)
    return Response(status_code=204)


@router.get(f"{EP}/projects/{{project_id}}/endpoints")
async def list_project_endpoints(
    project_id: str, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Endpoints of a project, direct and through endpoint groups."""
    enforce(ctx, ADMIN)
    rows = await extras.endpoints_for_project(idn, project_id)
    return views.collection(
        base,
        f"OS-EP-FILTER/projects/{project_id}/endpoints",
        "endpoints",
        [views.endpoint(base, e) for e in rows],
    )


@router.get(f"{EP}/projects/{{project_id}}/endpoint_groups")
async def list_project_endpoint_groups(
    project_id: str, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Endpoint groups associated with a project."""
    enforce(ctx, ADMIN)
    rows = await extras.groups_for_project(idn, project_id)
    return views.collection(
        base,
        f"OS-EP-FILTER/projects/{project_id}/endpoint_groups",
        "endpoint_groups",
        [views.endpoint_group(base, g) for g in rows],
    )


@router.get(f"{EP}/endpoints/{{endpoint_id}}/projects")
async def list_endpoint_projects(
    endpoint_id: str, idn: IdentityDep, ctx: Context, base: Base
) -> dict:
    """Projects an endpoint is associated with."""
    enforce(ctx, ADMIN)
    rows = await extras.projects_for_endpoint(idn, endpoint_id)
    return views.collection(
        base,
        f"OS-EP-FILTER/endpoints/{endpoint_id}/projects",
        "projects",
        [views.project(base, p, t) for p, t in rows],
    )
