"""The shared library's public surface is what ``__all__`` says, and every name in it exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import shared

# Every package of the shared library, found rather than listed: a new one is guarded from its first day.
PACKAGES = sorted(f"shared.{module.name}" for module in pkgutil.iter_modules(shared.__path__) if module.ispkg)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_explicit_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n)) or exported == sorted(exported)
    for member in exported:
        assert hasattr(module, member), f"{name}.{member} is in __all__ but missing"
    public = {n for n in vars(module) if not n.startswith("_") and not isinstance(getattr(module, n), type(module))}
    assert public - {"annotations"} <= set(exported), f"{name} exposes names not in __all__"
