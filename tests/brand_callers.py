"""Operators of every kind the brand rules tell apart, for tests of the brands API: an admin of every
account, a sales head, two managers (the head's team in the tests that make one), a manager of no team,
an analyst (no brand permission) and a project manager of one account (a push composer)."""

from __future__ import annotations

import asyncio

from shared.identity import ALL_ACCOUNTS, CLI_ACTOR, Directory

__all__ = ["APPID", "OPERATORS", "seed_operators"]

APPID = "wx1"

#: name: (role, account)
OPERATORS = {
    "root": ("admin", ALL_ACCOUNTS),
    "hana": ("sales_head", ALL_ACCOUNTS),
    "mia": ("account_manager", ALL_ACCOUNTS),
    "max": ("account_manager", ALL_ACCOUNTS),
    "olga": ("account_manager", ALL_ACCOUNTS),
    "ana": ("analyst", APPID),
    "pete": ("project_manager", APPID),
}


def seed_operators(directory: Directory) -> tuple[dict[str, str], dict[str, str]]:
    """Create :data:`OPERATORS` in ``directory`` (in a fresh event loop); their ids and API tokens by name."""

    async def seed() -> tuple[dict[str, str], dict[str, str]]:
        ids: dict[str, str] = {}
        tokens: dict[str, str] = {}
        for name, (role, appid) in OPERATORS.items():
            operator = await directory.create_operator(CLI_ACTOR, name, password=None, kind="service")
            await directory.grant(CLI_ACTOR, name, role, appid)
            tokens[name], _ = await directory.create_token(CLI_ACTOR, name, label="test")
            ids[name] = operator.id
        return ids, tokens

    return asyncio.run(seed())
