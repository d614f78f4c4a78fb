"""The screenshot evaluation sets: per corpus family, a tuning set and a frozen evaluation set.

Thresholds are chosen on a tuning set and judged on a frozen set of the *other* family. A frozen set is
only ever measured: :func:`read_for_tuning`, the one door the calibration code reads manifests through,
refuses it. A frozen set is recognised three independent ways, so renaming a folder or copying the
manifest is not enough to leak it into tuning:

- its folder holds ``FROZEN.json`` (written when the set is generated);
- every manifest line says ``"split": "frozen"`` and names its set (``"set": "B/frozen/2718"``), and a
  line naming any set in :data:`SETS` whose split is frozen is refused whatever its split field says;
- the SHA-256 of every frozen screenshot is in ``frozen-registry.json`` beside the sets, and a tuning
  manifest with any of those files is refused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from services.screenshots.service_layer.evaluation import ManifestLine, read_manifest

__all__ = [
    "FROZEN_MARKER",
    "REGISTRY",
    "SETS",
    "EvaluationSet",
    "Family",
    "FrozenSetError",
    "Split",
    "generator_version",
    "materialise",
    "read_for_tuning",
]

Family = Literal["A", "B"]
Split = Literal["tuning", "frozen"]

FROZEN_MARKER = "FROZEN.json"
REGISTRY = "frozen-registry.json"


class FrozenSetError(PermissionError):
    """A tuning run was handed (part of) a frozen evaluation set."""


@dataclass(frozen=True)
class EvaluationSet:
    family: Family
    split: Split
    seed: int
    count: int = 320

    @property
    def tag(self) -> str:
        return f"{self.family}/{self.split}/{self.seed}"

    @property
    def folder_name(self) -> str:
        return f"family-{self.family}-{self.split}-{self.seed}-{self.count}"


#: Fixed seeds. Family A's tuning seed is the one its checks were developed on (7); the frozen seeds
#: were never used for anything but measuring.
SETS: dict[tuple[Family, Split], EvaluationSet] = {
    ("A", "tuning"): EvaluationSet("A", "tuning", 7),
    ("A", "frozen"): EvaluationSet("A", "frozen", 1801),
    ("B", "tuning"): EvaluationSet("B", "tuning", 21),
    ("B", "frozen"): EvaluationSet("B", "frozen", 2718),
}
_FROZEN_TAGS = frozenset(spec.tag for spec in SETS.values() if spec.split == "frozen")


def _generate(spec: EvaluationSet, folder: Path) -> Path:
    if spec.family == "A":
        from scrm_dev.screenshot_corpus import generate_corpus

        return generate_corpus(folder, count=spec.count, seed=spec.seed)
    from scrm_dev.screenshot_family_b import generate_family_b

    return generate_family_b(folder, count=spec.count, seed=spec.seed)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generator_version(family: Family) -> str:
    """A digest of the family's generator source: a set drawn by older code is drawn again."""
    import scrm_dev.screenshot_corpus as family_a
    import scrm_dev.screenshot_family_b as family_b

    module = family_a if family == "A" else family_b
    return hashlib.sha256(Path(module.__file__ or "").read_bytes()).hexdigest()[:16]


def materialise(spec: EvaluationSet, root: Path) -> Path:
    """The set's manifest under ``root``, generated (and, if frozen, registered) when missing or stale."""
    folder = root / spec.folder_name
    manifest = folder / "manifest.jsonl"
    done = folder / ".complete"
    stamp = f"{spec.tag} {generator_version(spec.family)}\n"
    if done.is_file() and manifest.is_file() and done.read_text(encoding="utf-8") == stamp:
        return manifest
    if folder.exists():
        shutil.rmtree(folder)
    _generate(spec, folder)
    lines = [json.loads(raw) for raw in manifest.read_text(encoding="utf-8").splitlines() if raw.strip()]
    for line in lines:
        line.update(family=spec.family, split=spec.split, set=spec.tag)
    manifest.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    if spec.split == "frozen":
        digests = sorted({_sha256(folder / line["file"]) for line in lines})
        marker = {"set": spec.tag, "count": spec.count, "manifest_sha256": _sha256(manifest), "files": len(digests)}
        (folder / FROZEN_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        registry_path = root / REGISTRY
        registry: dict[str, str] = (
            json.loads(registry_path.read_text(encoding="utf-8")) if registry_path.is_file() else {}
        )
        registry.update(dict.fromkeys(digests, spec.tag))
        registry_path.write_text(json.dumps(registry, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    done.write_text(stamp, encoding="utf-8")
    return manifest


def _refuse_frozen_lines(manifest: Path) -> None:
    with manifest.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item: Any = json.loads(raw)
            except json.JSONDecodeError:
                continue  # read_manifest names the broken line
            if not isinstance(item, dict):
                continue
            if item.get("split") == "frozen" or item.get("set") in _FROZEN_TAGS:
                raise FrozenSetError(f"{manifest}:{number} belongs to a frozen evaluation set: tuning may not read it")


def read_for_tuning(manifest: Path, *, registries: tuple[Path, ...] = ()) -> list[ManifestLine]:
    """The manifest's lines for a tuning run; raises FrozenSetError for anything from a frozen set.

    ``registries`` are extra ``frozen-registry.json`` files to check (the one beside the manifest's
    folder is always checked).
    """
    folder = manifest.parent
    if (folder / FROZEN_MARKER).exists():
        raise FrozenSetError(f"{folder} is a frozen evaluation set ({FROZEN_MARKER}): tuning may not read it")
    _refuse_frozen_lines(manifest)
    lines = read_manifest(manifest)
    frozen: dict[str, str] = {}
    for registry in (folder.parent / REGISTRY, *registries):
        if registry.is_file():
            frozen.update(json.loads(registry.read_text(encoding="utf-8")))
    if frozen:
        for line in lines:
            tag = frozen.get(_sha256(line.screenshot))
            if tag is not None:
                raise FrozenSetError(
                    f"{line.screenshot} is a screenshot of the frozen set {tag}: tuning may not read it"
                )
    return lines
