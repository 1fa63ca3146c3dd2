"""Inserting many rows and learning their ids.

`INSERT … RETURNING` with the ids in the rows' order (`sort_by_parameter_order`) is run by
SQLAlchemy one row at a time on SQLite: at national scale (24,000 plans, as many revisions)
each such insert took about a second. A table with a unique key gives the same answer from one
executemany and a few selects of the new rows' ids by that key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.orm import Session

CHUNK = 5000  # values per IN (...) list: well below SQLite's limit on bound parameters


def insert_ids(
    into: Session | Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key: Sequence[str],
) -> list[int]:
    """Insert the rows; return their ids in the rows' order. `key` names columns that are
    unique together in `table` and given in every row; its first is read back in chunks."""
    if not rows:
        return []
    if isinstance(into, Session):
        if into.autoflush:  # as `session.execute` would: what is pending goes first
            into.flush()
        connection = into.connection()
    else:
        connection = into
    connection.execute(insert(table), list(rows))
    wanted = [tuple(row[k] for k in key) for row in rows]
    firsts = list(dict.fromkeys(k[0] for k in wanted))
    columns = [table.c[k] for k in key]
    found: dict[tuple[Any, ...], int] = {}
    for i in range(0, len(firsts), CHUNK):
        query = select(table.c.id, *columns).where(columns[0].in_(firsts[i : i + CHUNK]))
        for row in connection.execute(query):
            found[tuple(row[1:])] = int(row[0])
    return [found[k] for k in wanted]
