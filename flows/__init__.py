"""Deployable Prefect flows, one per module: orchestration only, no business rules."""
