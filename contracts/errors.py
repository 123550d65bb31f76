"""Exceptions for "cannot continue": one small hierarchy, caught in one place in cli/.

Problems in user data are `issues.Issue` records, not exceptions. These are for the
cases where there is nothing sensible to report row by row: a file that cannot be
opened, a database that is locked, a settlement that already exists.
"""

from __future__ import annotations


class ContractError(Exception):
    """Base class. `exit_code` follows DESIGN.md: 1 bad input, 2 usage, 3 environment."""

    exit_code = 1


class InputError(ContractError):
    """The input cannot be used at all (unreadable, not what it claims to be)."""

    exit_code = 1


class UsageError(ContractError):
    """The command was asked for something that does not exist (unknown period, missing file)."""

    exit_code = 2


class EnvironmentFailure(ContractError):
    """The environment failed: database unreachable or locked, disk full."""

    exit_code = 3


class Conflict(ContractError):
    """Another process changed the ledger while this one worked; nothing was stored."""

    exit_code = 1
