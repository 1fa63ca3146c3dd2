"""`make demo`: the whole semester cycle on generated data, with nothing but the repository.

`run` drives it, `cycle` runs the flows in order, `web` plays the approvers over HTTP, `school`
plays the schools that resubmit, `outbox` reads the kept .eml files, `look` says where to look.
"""

from __future__ import annotations

from pumpurs.app.demo.run import run_demo

__all__ = ["run_demo"]
