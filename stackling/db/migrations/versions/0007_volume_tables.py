"""volume tables

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 05:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "volume_quotas",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("hard_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource", name=op.f("pk_volume_quotas")),
    )
    op.create_table(
        "volume_types",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_types")),
        sa.UniqueConstraint("name", name=op.f("uq_volume_types_name")),
    )
    op.create_table(
        "volume_type_extra_specs",
        sa.Column("type_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["volume_types.id"],
            name=op.f("fk_volume_type_extra_specs_type_id_volume_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("type_id", "key", name=op.f("pk_volume_type_extra_specs")),
    )
    op.create_table(
        "volume_volumes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("extend_to", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=False),
        sa.Column("bootable", sa.Boolean(), nullable=False),
        sa.Column("multiattach", sa.Boolean(), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["volume_type_id"],
            ["volume_types.id"],
            name=op.f("fk_volume_volumes_volume_type_id_volume_types"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_volumes")),
    )
    with op.batch_alter_table("volume_volumes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volume_volumes_host"), ["host"], unique=False)
        batch_op.create_index(
            "ix_volume_volumes_project_created", ["project_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_volume_volumes_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_volume_volumes_volume_type_id"), ["volume_type_id"], unique=False
        )

    op.create_table(
        "volume_metadata",
        sa.Column("volume_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["volume_id"],
            ["volume_volumes.id"],
            name=op.f("fk_volume_metadata_volume_id_volume_volumes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("volume_id", "key", name=op.f("pk_volume_metadata")),
    )


def downgrade() -> None:
    op.drop_table("volume_metadata")
    with op.batch_alter_table("volume_volumes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_volumes_volume_type_id"))
        batch_op.drop_index(batch_op.f("ix_volume_volumes_status"))
        batch_op.drop_index("ix_volume_volumes_project_created")
        batch_op.drop_index(batch_op.f("ix_volume_volumes_host"))

    op.drop_table("volume_volumes")
    op.drop_table("volume_type_extra_specs")
    op.drop_table("volume_types")
    op.drop_table("volume_quotas")
