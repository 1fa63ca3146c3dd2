"""Query results as data frames, read through the session's connection.

A select of columns run by the ORM session passes every row through the ORM's result
machinery, and a frame built from a list of rows is filled row by row; at national scale
(tens of thousands of rows) both cost more than the query. The rows here come from the
connection (the same column types convert the values) and go into the frame column by column.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session


def read_frame(session: Session, query: Any, columns: list[str] | None = None) -> pd.DataFrame:
    """Return the query's rows as a frame, its columns named `columns` (default: the query's)."""
    if session.autoflush:  # as `session.execute` would: the query sees what is pending
        session.flush()
    result = session.connection().execute(query)
    names = list(columns) if columns is not None else list(result.keys())
    rows = result.all()
    if not rows:
        return pd.DataFrame(columns=names)
    return pd.DataFrame(
        dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)), columns=names
    )
