"""The screenshots library's public face is what ``services.screenshots.__all__`` says, and all of it exists.

Campaigns imports nothing else of the package (import-linter's ``screenshot-facade`` contract); this
keeps the list itself honest: sorted, complete, and without names that are not there.
"""

from __future__ import annotations

import importlib

FACADE = "services.screenshots"


def test_all_is_explicit_and_complete() -> None:
    module = importlib.import_module(FACADE)
    exported = module.__all__
    assert exported == sorted(exported, key=lambda n: (not n.isupper(), n))
    for member in exported:
        assert hasattr(module, member), f"{FACADE}.{member} is in __all__ but missing"
    public = {n for n in vars(module) if not n.startswith("_") and not isinstance(getattr(module, n), type(module))}
    assert public - {"annotations"} <= set(exported), f"{FACADE} exposes names not in __all__"


def test_the_facade_carries_what_a_verifier_needs() -> None:
    module = importlib.import_module(FACADE)
    # Build a pool, analyse, conclude against earlier submissions, and read the verdict.
    for name in ("AnalysisPool", "Analysed", "Submission", "conclude", "prior_shot", "Decision", "Reason", "Verdict"):
        assert name in module.__all__
