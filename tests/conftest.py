"""Shared pytest options: golden files are regenerated only on request."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current output instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def _own_ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own default ledger, so none writes ./contracts.db in the repo."""
    folder = tmp_path_factory.mktemp("ledger")
    monkeypatch.setenv("CONTRACT_DB", str(folder / "contracts.db"))
