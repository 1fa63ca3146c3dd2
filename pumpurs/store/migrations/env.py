"""Alembic environment: migrations run on the engine the application already made."""

from __future__ import annotations

from alembic import context

from pumpurs.store.db import engine_for
from pumpurs.store.models import Base

config = context.config
engine = config.attributes.get("engine") or engine_for(
    config.get_main_option("sqlalchemy.url") or ""
)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
