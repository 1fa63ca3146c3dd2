"""school pages: a signed link per school and semester, and the audit of every upload

Revision ID: 0004_school_links
Revises: 0003_mail_in_flight
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import pumpurs.store.models

revision = "0004_school_links"
down_revision = "0003_mail_in_flight"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "school_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("school_code", sa.String(length=64), nullable=False),
        sa.Column("semester_code", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("issued_at", pumpurs.store.models.UtcDateTime(), nullable=False),
        sa.Column("expires_at", pumpurs.store.models.UtcDateTime(), nullable=False),
        sa.Column("replaced_at", pumpurs.store.models.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_link")),
        sa.UniqueConstraint("nonce", name=op.f("uq_school_link_nonce")),
    )
    op.create_index(
        "ix_school_link_school_semester",
        "school_link",
        ["school_code", "semester_code"],
        unique=False,
    )
    op.create_table(
        "school_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("at", pumpurs.store.models.UtcDateTime(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("kept_name", sa.String(length=255), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["school_link.id"], name=op.f("fk_school_upload_link_id_school_link")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_upload")),
    )
    op.create_index(op.f("ix_school_upload_link_id"), "school_upload", ["link_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_school_upload_link_id"), table_name="school_upload")
    op.drop_table("school_upload")
    op.drop_index("ix_school_link_school_semester", table_name="school_link")
    op.drop_table("school_link")
