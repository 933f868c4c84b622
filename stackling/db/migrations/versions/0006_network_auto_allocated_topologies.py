"""network auto-allocated topologies

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "network_auto_allocated_topologies",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network_networks.id"],
            name=op.f("fk_network_auto_allocated_topologies_network_id_network_networks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["router_id"],
            ["network_routers.id"],
            name=op.f("fk_network_auto_allocated_topologies_router_id_network_routers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_network_auto_allocated_topologies")),
    )
    with op.batch_alter_table("network_auto_allocated_topologies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_auto_allocated_topologies_network_id"),
            ["network_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_network_auto_allocated_topologies_router_id"),
            ["router_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("network_auto_allocated_topologies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_auto_allocated_topologies_router_id"))
        batch_op.drop_index(batch_op.f("ix_network_auto_allocated_topologies_network_id"))
    op.drop_table("network_auto_allocated_topologies")
