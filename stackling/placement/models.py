"""Placement tables: providers, their inventories, traits and aggregates, consumers, allocations.

Standard resource classes and traits live in code (standards.py); only custom
ones are rows. Inventories and allocations name their resource class by its
string, which keeps every query a single-table read.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stackling.db.base import Base, UTCDateTime


def now() -> dt.datetime:
    """The current time to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class ResourceProvider(Base):
    """A resource provider; `generation` moves on every change to what it offers or holds."""

    __tablename__ = "placement_resource_providers"
    __table_args__ = (Index("ix_placement_resource_providers_root", "root_provider_uuid"),)

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    parent_provider_uuid: Mapped[str | None] = mapped_column(
        ForeignKey("placement_resource_providers.uuid"), index=True
    )
    root_provider_uuid: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class Inventory(Base):
    """How much of one resource class a provider has, and how it may be consumed."""

    __tablename__ = "placement_inventories"
    __table_args__ = (UniqueConstraint("provider_uuid", "resource_class"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_uuid: Mapped[str] = mapped_column(
        ForeignKey("placement_resource_providers.uuid", ondelete="CASCADE")
    )
    resource_class: Mapped[str] = mapped_column(String(255), index=True)
    total: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    min_unit: Mapped[int] = mapped_column(Integer, default=1)
    max_unit: Mapped[int] = mapped_column(Integer)
    step_size: Mapped[int] = mapped_column(Integer, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class ResourceClass(Base):
    """A custom resource class (standard ones are known in code)."""

    __tablename__ = "placement_resource_classes"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class Trait(Base):
    """A custom trait (standard ones are known in code)."""

    __tablename__ = "placement_traits"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class ProviderTrait(Base):
    """A trait a provider has."""

    __tablename__ = "placement_provider_traits"
    __table_args__ = (Index("ix_placement_provider_traits_trait", "trait"),)

    provider_uuid: Mapped[str] = mapped_column(
        ForeignKey("placement_resource_providers.uuid", ondelete="CASCADE"), primary_key=True
    )
    trait: Mapped[str] = mapped_column(String(255), primary_key=True)


class ProviderAggregate(Base):
    """An aggregate a provider belongs to (aggregates exist only as these uuids)."""

    __tablename__ = "placement_provider_aggregates"
    __table_args__ = (Index("ix_placement_provider_aggregates_aggregate", "aggregate_uuid"),)

    provider_uuid: Mapped[str] = mapped_column(
        ForeignKey("placement_resource_providers.uuid", ondelete="CASCADE"), primary_key=True
    )
    aggregate_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)


class Consumer(Base):
    """Whoever holds allocations (an instance, a migration); removed with its last allocation."""

    __tablename__ = "placement_consumers"
    __table_args__ = (Index("ix_placement_consumers_project_user", "project_id", "user_id"),)

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    consumer_type: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)


class Allocation(Base):
    """An amount of one resource class a consumer holds on one provider."""

    __tablename__ = "placement_allocations"
    __table_args__ = (
        Index("ix_placement_allocations_provider_class", "provider_uuid", "resource_class"),
        Index("ix_placement_allocations_consumer", "consumer_uuid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No cascade: a provider with allocations cannot be deleted (409, as Placement).
    provider_uuid: Mapped[str] = mapped_column(ForeignKey("placement_resource_providers.uuid"))
    consumer_uuid: Mapped[str] = mapped_column(
        ForeignKey("placement_consumers.uuid", ondelete="CASCADE")
    )
    resource_class: Mapped[str] = mapped_column(String(255))
    used: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now)
