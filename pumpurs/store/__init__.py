"""The store: typed models, engine and sessions, the plan lifecycle, migrations.

Helpers take a session and never commit; the caller owns the unit of work.
"""
