"""Request bodies of the Keystone v3 API, validated as strictly as Keystone's JSON schemas.

Unknown attributes are kept (Keystone stores them as "extra" and returns them).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

Name64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S")]
Name255 = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"\S")]
Id64 = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Description = Annotated[str, StringConstraints(max_length=10000)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^,/]+$")]


class Open(BaseModel):
    """Strict types for known fields, unknown fields kept."""

    model_config = ConfigDict(extra="allow", strict=True)
    # Optional in an update, but never null when given.
    not_null: ClassVar[frozenset[str]] = frozenset(
        {"name", "enabled", "tags", "options", "type", "url", "interface", "service_id"}
    )

    @model_validator(mode="after")
    def _refuse_nulls(self) -> Open:
        for name in self.not_null & self.model_fields_set:
            if getattr(self, name, None) is None:
                raise ValueError(f"{name} may not be null")
        return self

    def fields(self) -> dict[str, Any]:
        """The attributes the client actually sent."""
        return self.model_dump(exclude_unset=True)


class Closed(BaseModel):
    """Strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


# -- projects and domains ------------------------------------------------------------


class ProjectCreate(Open):
    name: Name64
    domain_id: Id64 | None = None
    parent_id: Id64 | None = None
    is_domain: StrictBool = False
    enabled: StrictBool = True
    description: Description | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=80)
    options: dict[str, Any] = Field(default_factory=dict)


class ProjectUpdate(Open):
    name: Name64 | None = None
    enabled: StrictBool | None = None
    description: Description | None = None
    tags: list[Tag] | None = Field(default=None, max_length=80)
    options: dict[str, Any] | None = None


class ProjectCreateBody(Closed):
    project: ProjectCreate


class ProjectUpdateBody(Closed):
    project: ProjectUpdate


class DomainCreate(Open):
    name: Name64
    enabled: StrictBool = True
    description: Description | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=80)
    options: dict[str, Any] = Field(default_factory=dict)
    explicit_domain_id: Id64 | None = None


class DomainUpdate(Open):
    name: Name64 | None = None
    enabled: StrictBool | None = None
    description: Description | None = None
    tags: list[Tag] | None = Field(default=None, max_length=80)
    options: dict[str, Any] | None = None


class DomainCreateBody(Closed):
    domain: DomainCreate


class DomainUpdateBody(Closed):
    domain: DomainUpdate


class TagsBody(Closed):
    tags: list[Tag] = Field(max_length=80)


# -- users and groups -------------------------------------------------------------


class UserCreate(Open):
    name: Name255
    domain_id: Id64 | None = None
    password: Annotated[str, StringConstraints(max_length=4096)] | None = None
    enabled: StrictBool = True
    default_project_id: Id64 | None = None
    description: Description | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class UserUpdate(Open):
    name: Name255 | None = None
    password: Annotated[str, StringConstraints(max_length=4096)] | None = None
    enabled: StrictBool | None = None
    default_project_id: Id64 | None = None
    description: Description | None = None
    options: dict[str, Any] | None = None


class UserCreateBody(Closed):
    user: UserCreate


class UserUpdateBody(Closed):
    user: UserUpdate


class PasswordChange(Closed):
    original_password: Annotated[str, StringConstraints(max_length=4096)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class PasswordChangeBody(Closed):
    user: PasswordChange


class GroupCreate(Open):
    name: Name64
    domain_id: Id64 | None = None
    description: Description | None = None


class GroupUpdate(Open):
    name: Name64 | None = None
    description: Description | None = None


class GroupCreateBody(Closed):
    group: GroupCreate


class GroupUpdateBody(Closed):
    group: GroupUpdate


# -- roles -----------------------------------------------------------------------


class RoleCreate(Open):
    name: Name255
    domain_id: Id64 | None = None
    description: Description | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class RoleUpdate(Open):
    name: Name255 | None = None
    description: Description | None = None
    options: dict[str, Any] | None = None


class RoleCreateBody(Closed):
    role: RoleCreate


class RoleUpdateBody(Closed):
    role: RoleUpdate


# -- catalog -----------------------------------------------------------------------


class RegionCreate(Open):
    id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    description: Description | None = None
    parent_region_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class RegionUpdate(Open):
    description: Description | None = None
    parent_region_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class RegionCreateBody(Closed):
    region: RegionCreate


class RegionUpdateBody(Closed):
    region: RegionUpdate


class ServiceCreate(Open):
    type: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    name: Name255 | None = None
    description: Description | None = None
    enabled: StrictBool = True


class ServiceUpdate(Open):
    type: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    name: Name255 | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


class ServiceCreateBody(Closed):
    service: ServiceCreate


class ServiceUpdateBody(Closed):
    service: ServiceUpdate


Url = Annotated[
    str, StringConstraints(min_length=1, max_length=2048, pattern=r"^[a-zA-Z0-9+.\-]+://")
]


class EndpointCreate(Open):
    service_id: Id64
    interface: Annotated[str, StringConstraints(pattern=r"^(public|internal|admin)$")]
    url: Url
    region_id: Annotated[str, StringConstraints(max_length=255)] | None = None
    region: Annotated[str, StringConstraints(max_length=255)] | None = None
    enabled: StrictBool = True


class EndpointUpdate(Open):
    service_id: Id64 | None = None
    interface: Annotated[str, StringConstraints(pattern=r"^(public|internal|admin)$")] | None = None
    url: Url | None = None
    region_id: Annotated[str, StringConstraints(max_length=255)] | None = None
    region: Annotated[str, StringConstraints(max_length=255)] | None = None
    enabled: StrictBool | None = None


class EndpointCreateBody(Closed):
    endpoint: EndpointCreate


class EndpointUpdateBody(Closed):
    endpoint: EndpointUpdate


# -- auth ------------------------------------------------------------------------


class AuthBody(Closed):
    """The body of POST /v3/auth/tokens; its inside is checked by the auth methods."""

    auth: dict[str, Any]
