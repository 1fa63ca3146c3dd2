"""The edges: the command line, `pumpurs serve`, the web app and the demo.

The only part of `pumpurs` that imports Prefect, FastAPI, Starlette, uvicorn, Typer, `flows` or
`tasks`; everything below it runs and tests without an orchestrator or a web server.
"""
