"""people change and data ages: no plain checksum of an unmasked file, re-routing and
substitutes, retention, the access audit

Revision ID: 0002_people
Revises: 0001
Create Date: 2026-12-04

`submission.sha256` was the SHA-256 of the file as the school sent it. When the file held a
personal code, the kept copy is masked (two digits of the code left) but that checksum was not:
trying every code against it gave the code back. From here on a file is known by the checksum
of the file as kept, masked: the migration has the kept content, so it computes exactly that
(`kept_sha256` already held it) and drops the old value everywhere it was kept, including the
first twelve characters that the schools' report emails carry in their dedupe keys. A masked
file in the inbox hashes to the new value, so nothing is read twice after the upgrade.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

import pumpurs.store.models

revision = "0002_people"
down_revision = "0001"
branch_labels = None
depends_on = None

REPORT_KEYS = ("collect-report:", "evaluation-report:")

_submission = sa.table(
    "submission",
    sa.column("id", sa.Integer),
    sa.column("semester_id", sa.Integer),
    sa.column("school_folder", sa.String),
    sa.column("kind", sa.String),
    sa.column("sha256", sa.String),
    sa.column("kept_sha256", sa.String),
    sa.column("content", sa.LargeBinary),
    sa.column("size", sa.Integer),
)
_semester = sa.table("semester", sa.column("id", sa.Integer), sa.column("code", sa.String))
_outbox = sa.table(
    "outbox_message", sa.column("id", sa.Integer), sa.column("dedupe_key", sa.String)
)
_step = sa.table(
    "approval_step",
    sa.column("approver_email", sa.String),
    sa.column("notified_at", sa.DateTime),
    sa.column("notified_to", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "page_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", pumpurs.store.models.UtcDateTime(), nullable=False),
        sa.Column("page", sa.String(length=16), nullable=False),
        sa.Column("plan_ids", sa.Text(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("link_holder", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_view")),
    )
    with op.batch_alter_table("page_view", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_view_at"), ["at"], unique=False)

    with op.batch_alter_table("approval_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_to", sa.String(length=254), nullable=True))
    with op.batch_alter_table("approval_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_behalf_of", sa.String(length=254), nullable=True))
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("substitute_email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("pupil", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erased_at", pumpurs.store.models.UtcDateTime(), nullable=True)
        )
    with op.batch_alter_table("semester", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erased_at", pumpurs.store.models.UtcDateTime(), nullable=True)
        )

    # Until now every digest went to the step's approver.
    op.execute(
        _step.update()
        .where(_step.c.notified_at.is_not(None))
        .values(notified_to=_step.c.approver_email)
    )
    _keep_checksums_of_kept_files()
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("kept_sha256")


def _keep_checksums_of_kept_files() -> None:
    """Give every submission the checksum of its kept (masked) content; rewrite report keys."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            _submission.c.id,
            _submission.c.semester_id,
            _submission.c.school_folder,
            _submission.c.kind,
            _submission.c.sha256,
            _submission.c.kept_sha256,
            _semester.c.code,
        )
        .join(_semester, _semester.c.id == _submission.c.semester_id)
        .order_by(_submission.c.id)
    ).all()
    taken: set[tuple[int, str, str, str]] = set()
    renamed: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # old → new key prefix
    for sid, semester_id, folder, kind, old, kept, code in rows:
        new = kept
        if (semester_id, folder, kind, new) in taken:
            # Two files the same once masked (codes differing only in masked digits) were read
            # apart: the later one gets a checksum that no file has (it is never read again).
            new = hashlib.sha256(f"{kept}:{sid}".encode()).hexdigest()
        taken.add((semester_id, folder, kind, new))
        if new != old:
            renamed[(code, folder)][old[:12]] = new[:12]
        content = bind.execute(
            sa.select(_submission.c.content).where(_submission.c.id == sid)
        ).scalar_one()
        values: dict[str, object] = {"sha256": new}
        if content is not None:
            values["size"] = len(content)  # of the masked copy kept, not the original
        bind.execute(_submission.update().where(_submission.c.id == sid).values(**values))
    if not renamed:
        return
    keys = bind.execute(
        sa.select(_outbox.c.id, _outbox.c.dedupe_key).where(
            sa.or_(*(_outbox.c.dedupe_key.startswith(prefix) for prefix in REPORT_KEYS))
        )
    ).all()
    used = {key for _, key in keys}
    for message_id, key in keys:
        parts = key.split(":", 3)
        if len(parts) != 4 or (parts[1], parts[2]) not in renamed:
            continue
        names = renamed[(parts[1], parts[2])]
        files = "+".join(sorted(names.get(p, p) for p in parts[3].split("+")))
        new_key = ":".join([*parts[:3], files])
        if new_key == key:
            continue
        if new_key in used:  # never expected: keep the key unique all the same
            new_key = f"{new_key}:{message_id}"
        used.add(new_key)
        bind.execute(_outbox.update().where(_outbox.c.id == message_id).values(dedupe_key=new_key))


def downgrade() -> None:
    # The checksums of the unmasked originals are gone for good: both columns get the kept one.
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kept_sha256", sa.String(length=64), nullable=True))
    op.execute(_submission.update().values(kept_sha256=_submission.c.sha256))
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.alter_column("kept_sha256", existing_type=sa.String(length=64), nullable=False)

    with op.batch_alter_table("semester", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("pupil", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("substitute_email")
    with op.batch_alter_table("approval_token", schema=None) as batch_op:
        batch_op.drop_column("on_behalf_of")
    with op.batch_alter_table("approval_step", schema=None) as batch_op:
        batch_op.drop_column("notified_to")
    with op.batch_alter_table("page_view", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_view_at"))
    op.drop_table("page_view")
