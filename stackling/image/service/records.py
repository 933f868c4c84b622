"""An image with what its view needs (properties, tags, stores), loaded in a few queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stackling.image import models as m


@dataclass(slots=True)
class ImageRecord:
    """One image as the API shows it."""

    image: m.Image
    properties: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)


async def load_records(s: AsyncSession, images: Sequence[m.Image]) -> list[ImageRecord]:
    """Records for `images`, in order: three queries whatever the number of images."""
    records = {img.id: ImageRecord(img) for img in images}
    if not records:
        return []
    ids = list(records)
    for prop in await s.scalars(select(m.ImageProperty).where(m.ImageProperty.image_id.in_(ids))):
        records[prop.image_id].properties[prop.name] = prop.value
    tags = await s.scalars(
        select(m.ImageTag)
        .where(m.ImageTag.image_id.in_(ids))
        .order_by(m.ImageTag.created_at, m.ImageTag.value)
    )
    for tag in tags:
        records[tag.image_id].tags.append(tag.value)
    locations = await s.scalars(
        select(m.ImageLocation)
        .where(m.ImageLocation.image_id.in_(ids))
        .order_by(m.ImageLocation.store)
    )
    for loc in locations:
        records[loc.image_id].stores.append(loc.store)
    return [records[img.id] for img in images]


async def load_record(s: AsyncSession, image: m.Image) -> ImageRecord:
    """The record of one image."""
    return (await load_records(s, [image]))[0]
