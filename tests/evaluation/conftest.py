"""The evaluation tests' store: the test's settings in force, config loaded, schema migrated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    with use_settings(settings):
        yield load_context(settings)
