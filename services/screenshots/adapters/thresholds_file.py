"""The verifier's thresholds from a JSON file: what a calibration run writes, what a deployment reads.

The file is one JSON object of ``field: number`` (the fields of
:class:`~services.screenshots.domain.verdicts.DecisionThresholds`); fields it leaves out keep their
defaults, so an empty object means the defaults. An unknown field or a value that is not a number is an
error naming it: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from services.screenshots.domain.verdicts import DecisionThresholds

__all__ = ["ThresholdsFileError", "load_thresholds", "thresholds_from_mapping"]


class ThresholdsFileError(ValueError):
    """The thresholds file cannot be used; the message names the field or the problem."""


def thresholds_from_mapping(values: dict[str, Any]) -> DecisionThresholds:
    known = {f.name for f in dataclasses.fields(DecisionThresholds)}
    for name, value in values.items():
        if name not in known:
            raise ThresholdsFileError(f"unknown threshold {name!r} (known: {', '.join(sorted(known))})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ThresholdsFileError(f"threshold {name!r} must be a number, not {value!r}")
    return dataclasses.replace(DecisionThresholds(), **{name: float(value) for name, value in values.items()})


def load_thresholds(path: Path | None) -> DecisionThresholds:
    """The thresholds in ``path``; the defaults when ``path`` is None."""
    if path is None:
        return DecisionThresholds()
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThresholdsFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ThresholdsFileError(f"{path}: not JSON ({exc.msg})") from None
    if not isinstance(values, dict):
        raise ThresholdsFileError(f"{path}: expected a JSON object of threshold: number")
    return thresholds_from_mapping(values)
