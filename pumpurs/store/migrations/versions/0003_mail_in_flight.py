"""outbox: a message in flight (DATA sent, no answer yet) and one possibly sent twice

Revision ID: 0002_ops
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import pumpurs.store.models

revision = "0003_mail_in_flight"
down_revision = "0002_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sending_since", pumpurs.store.models.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("possibly_repeated", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("possibly_repeated")
        batch_op.drop_column("sending_since")
