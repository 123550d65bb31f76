"""The JSON Schema of contract files, generated from the pydantic models.

Committed as `schemas/contract.schema.json` so an editor can check a contract while it
is typed; a test fails when the committed file is stale.
"""

from __future__ import annotations

from typing import Any

from contracts.model import Contract

SCHEMA_ID = "https://outcome-contracts.example/schemas/contract.schema.json"


def contract_schema() -> dict[str, Any]:
    schema = Contract.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Outcome contract",
        **{k: v for k, v in schema.items() if k != "title"},
    }
