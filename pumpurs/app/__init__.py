"""The edges: the command line, `pumpurs serve`, the web app and the demo.

The only part of `pumpurs` that imports Prefect, FastAPI, Starlette, uvicorn, Typer, `flows` or
`tasks`; everything below it runs and tests without an orchestrator or a web server.
"""

import os
import sys

# Keep the modules Python compiles (in __pycache__/, ignored by git) even where the environment
# says not to (PYTHONDONTWRITEBYTECODE, as the Makefile does for its own targets): without them
# every command, and the temporary Prefect server it may start, compiles Prefect, pandas and
# SQLAlchemy from source again, which takes longer than the command's own work.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
