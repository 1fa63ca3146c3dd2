"""Reliability suite: the tally every test adds to, and the line that closes the run."""

from __future__ import annotations

import pytest

from tests.reliability.tally import TALLY, Tally

# For tests whose subject is not the database: they run once, on a SQLite file.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Tally:
    """Return the suite's tally, counting this test as one that ran."""
    TALLY.tests += 1
    return TALLY


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when any item was lost or duplicated, even if no assertion caught it."""
    if TALLY.tests and (TALLY.lost or TALLY.duplicated) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the one line the suite ends with."""
    if TALLY.tests:
        broken = bool(TALLY.lost or TALLY.duplicated)  # the run fails then, see above
        terminalreporter.write_line(TALLY.line(), red=broken, green=not broken)
