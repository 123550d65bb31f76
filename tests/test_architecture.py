"""The import rules of STYLE.md, kept by import-linter so they cannot erode."""

from __future__ import annotations

import pathlib

from importlinter.cli import lint_imports

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept(tmp_path: pathlib.Path) -> None:
    # The core never imports typer or rich; pure modules never import yaml, openpyxl,
    # sqlmodel or jinja2 (contracts in pyproject.toml).
    assert (
        lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0
    )


def test_import_linter_catches_a_violation(tmp_path: pathlib.Path, monkeypatch) -> None:
    # A rule that cannot fail proves nothing: check that a forbidden import is caught.
    config = tmp_path / "importlinter.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["cli", "contracts"]\n'
        '[[tool.importlinter.contracts]]\nname = "cli may not import contracts (false on purpose)"\n'
        'type = "forbidden"\nsource_modules = ["cli"]\nforbidden_modules = ["contracts"]\n'
    )
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) == 1
