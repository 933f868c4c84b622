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


class Update(Open):
    """An update body: at least one attribute (Keystone's minProperties: 1)."""

    @model_validator(mode="after")
    def _not_empty(self) -> Update:
        if not self.model_fields_set and not self.model_extra:
            raise ValueError("an update needs at least one attribute")
        return self


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


class ProjectUpdate(Update):
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


class DomainUpdate(Update):
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


class UserUpdate(Update):
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
    name: Name255
    domain_id: Id64 | None = None
    description: Description | None = None


class GroupUpdate(Update):
    name: Name255 | None = None
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


class RoleUpdate(Update):
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


class RegionUpdate(Update):
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


class ServiceUpdate(Update):
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


class EndpointUpdate(Update):
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


# -- application credentials and access rules ------------------------------------------

HttpMethod = Annotated[str, StringConstraints(pattern=r"^(DELETE|GET|HEAD|PATCH|POST|PUT)$")]
ExpiresAt = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class RoleRef(Closed):
    """A role named by id, or by name (optionally within a domain)."""

    id: Id64 | None = None
    name: Name255 | None = None
    domain_id: Id64 | None = None

    @model_validator(mode="after")
    def _id_or_name(self) -> RoleRef:
        if not self.id and not self.name:
            raise ValueError("a role needs an id or a name")
        return self


class AccessRuleRef(Closed):
    """An access rule: an existing one by id, or service + path + method."""

    id: Id64 | None = None
    service: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    path: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^/")] | None = (
        None
    )
    method: HttpMethod | None = None

    @model_validator(mode="after")
    def _complete(self) -> AccessRuleRef:
        given = [x is not None for x in (self.service, self.path, self.method)]
        if any(given) and not all(given):
            raise ValueError("an access rule needs service, path and method together")
        if not self.id and not all(given):
            raise ValueError("an access rule needs an id, or service, path and method")
        return self


class AppCredCreate(Closed):
    name: Name255
    description: Description | None = None
    secret: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    expires_at: ExpiresAt | None = None
    roles: list[RoleRef] | None = Field(default=None, max_length=100)
    unrestricted: StrictBool | None = None
    access_rules: list[AccessRuleRef] | None = Field(default=None, max_length=100)


class AppCredCreateBody(Closed):
    application_credential: AppCredCreate


# -- credentials -----------------------------------------------------------------------

Blob = Annotated[str, StringConstraints(max_length=65536)]
TypeName = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class CredentialCreate(Open):
    blob: Blob
    type: TypeName
    user_id: Id64
    project_id: Id64 | None = None


class CredentialUpdate(Open):
    not_null: ClassVar[frozenset[str]] = Open.not_null | {"blob", "user_id"}
    blob: Blob | None = None
    type: TypeName | None = None
    user_id: Id64 | None = None
    project_id: Id64 | None = None


class CredentialCreateBody(Closed):
    credential: CredentialCreate


class CredentialUpdateBody(Closed):
    credential: CredentialUpdate


class Ec2CreateBody(Open):
    """POST /v3/users/{user_id}/credentials/OS-EC2."""

    tenant_id: Id64


# -- trusts ------------------------------------------------------------------------------


class TrustCreate(Open):
    not_null: ClassVar[frozenset[str]] = frozenset({"impersonation"})
    trustor_user_id: Id64
    trustee_user_id: Id64
    impersonation: StrictBool
    project_id: Id64 | None = None
    roles: list[RoleRef] | None = Field(default=None, max_length=100)
    expires_at: ExpiresAt | None = None
    remaining_uses: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    allow_redelegation: StrictBool | None = None
    redelegation_count: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None


class TrustCreateBody(Closed):
    trust: TrustCreate


# -- policies, domain configuration, OAuth consumers, endpoint groups ---------------------


class PolicyCreate(Open):
    blob: Blob
    type: TypeName


class PolicyUpdate(Open):
    not_null: ClassVar[frozenset[str]] = Open.not_null | {"blob"}
    blob: Blob | None = None
    type: TypeName | None = None


class PolicyCreateBody(Closed):
    policy: PolicyCreate


class PolicyUpdateBody(Closed):
    policy: PolicyUpdate


class DomainConfigBody(Closed):
    """Groups of options (or, below a group and option, just the option)."""

    config: dict[str, Any]


class ConsumerCreate(Open):
    description: Description | None = None


class ConsumerUpdate(Open):
    description: Description | None = None

    @model_validator(mode="after")
    def _no_secret(self) -> ConsumerUpdate:
        if "secret" in (self.model_extra or {}):
            raise ValueError("the secret of a consumer cannot be changed")
        return self


class ConsumerCreateBody(Closed):
    consumer: ConsumerCreate


class ConsumerUpdateBody(Closed):
    consumer: ConsumerUpdate


class EndpointGroupFilters(Closed):
    interface: Annotated[str, StringConstraints(pattern=r"^(public|internal|admin)$")] | None = None
    service_id: Id64 | None = None
    region_id: Annotated[str, StringConstraints(max_length=255)] | None = None


class EndpointGroupCreate(Closed):
    name: Name255
    description: Description | None = None
    filters: EndpointGroupFilters


class EndpointGroupUpdate(Closed):
    name: Name255 | None = None
    description: Description | None = None
    filters: EndpointGroupFilters | None = None


class EndpointGroupCreateBody(Closed):
    endpoint_group: EndpointGroupCreate


class EndpointGroupUpdateBody(Closed):
    endpoint_group: EndpointGroupUpdate


# -- unified limits ------------------------------------------------------------------------

LimitValue = Annotated[int, Field(ge=-1, le=2**31 - 1)]
RegionId = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class RegisteredLimitCreate(Closed):
    service_id: Id64
    region_id: RegionId | None = None
    resource_name: Name255
    default_limit: LimitValue
    description: Description | None = None


class RegisteredLimitsCreateBody(Closed):
    registered_limits: list[RegisteredLimitCreate] = Field(min_length=1, max_length=1000)


class RegisteredLimitUpdate(Closed):
    service_id: Id64 | None = None
    region_id: RegionId | None = None
    resource_name: Name255 | None = None
    default_limit: LimitValue | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _refuse_nulls(self) -> RegisteredLimitUpdate:
        for name in ("service_id", "resource_name", "default_limit"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class RegisteredLimitUpdateBody(Closed):
    registered_limit: RegisteredLimitUpdate


class LimitCreate(Closed):
    service_id: Id64
    region_id: RegionId | None = None
    resource_name: Name255
    resource_limit: LimitValue
    description: Description | None = None
    project_id: Id64 | None = None
    domain_id: Id64 | None = None

    @model_validator(mode="after")
    def _one_owner(self) -> LimitCreate:
        if (self.project_id is None) == (self.domain_id is None):
            raise ValueError("a limit needs exactly one of project_id and domain_id")
        return self


class LimitsCreateBody(Closed):
    limits: list[LimitCreate] = Field(min_length=1, max_length=1000)


class LimitUpdate(Closed):
    resource_limit: LimitValue | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _refuse_null_limit(self) -> LimitUpdate:
        if "resource_limit" in self.model_fields_set and self.resource_limit is None:
            raise ValueError("resource_limit may not be null")
        return self


class LimitUpdateBody(Closed):
    limit: LimitUpdate
