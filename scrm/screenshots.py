"""``scrm verify-screenshots``: the offline evaluation, with its summary on stderr.

``--manifest`` runs a manifest (the synthetic corpus, ``truth`` optional); ``--labels`` runs a labelled
set, a JSON-lines file or the review queue's export (a zip holding ``labels.jsonl`` and the pictures),
and reports how the verifier's decisions compare with people's. The export names each campaign's
poster template rather than every member's poster: the poster is drawn here with the campaigns'
renderer, byte for byte what the worker compared the screenshot with.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, cast

from rich.console import Console
from rich.markup import escape

from services.campaigns.adapters.posters import PosterError, render_poster
from services.campaigns.domain.poster_layout import PosterLayout, PosterLayoutError, QrBox, TextSlot
from services.screenshots.adapters.ocr import OcrEngineName, OcrUnavailable, find_tessdata
from services.screenshots.adapters.pool import DEFAULT_TIME_LIMIT, AnalysisPool
from services.screenshots.service_layer.evaluation import (
    ManifestError,
    ManifestLine,
    Summary,
    evaluate_manifest,
    read_labels,
    read_manifest,
)

__all__ = ["LABELS_IN_EXPORT", "run_verify_screenshots", "verify_manifest"]

#: The labelled set's name inside the review queue's export.
LABELS_IN_EXPORT = "labels.jsonl"


def verify_manifest(
    manifest: Path | None,
    out: Path,
    *,
    workers: int | None = None,
    engine: str = "tesserocr",
    labels: Path | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> Summary:
    """Evaluate ``manifest`` (or the labelled set ``labels``) into ``out``; raises ManifestError or
    OcrUnavailable on unusable input."""
    if engine not in ("tesserocr", "pytesseract"):
        raise ManifestError(f"unknown OCR engine {engine!r}: use tesserocr or pytesseract")
    with tempfile.TemporaryDirectory(prefix="scrm-labels-") as scratch:
        if labels is not None:
            folder = Path(scratch)
            drawer = PosterDrawing(folder / "drawn-posters")
            lines = read_labels(_unpacked(labels, folder) if zipfile.is_zipfile(labels) else labels, drawer)
        elif manifest is not None:
            lines = read_manifest(manifest)
        else:
            raise ManifestError("give a manifest or a labelled set")
        return _run(lines, out, workers, cast(OcrEngineName, engine), time_limit)


def _run(lines: list[ManifestLine], out: Path, workers: int | None, engine: OcrEngineName, limit: float) -> Summary:
    find_tessdata()  # fail before starting workers
    pool = AnalysisPool(workers, engine=engine, time_limit=limit)
    try:
        pool.warm_up()
        return evaluate_manifest(lines, out, pool)
    finally:
        pool.close()


def _unpacked(archive: Path, folder: Path) -> Path:
    """The export's ``labels.jsonl`` after extracting the archive into ``folder``; names that would
    land outside it (absolute, ``..``) are refused rather than trusted."""
    with zipfile.ZipFile(archive) as bundle:
        for name in bundle.namelist():
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or "\\" in name:
                raise ManifestError(f"{archive}: unsafe name in the archive: {name!r}")
        if LABELS_IN_EXPORT not in bundle.namelist():
            raise ManifestError(f"{archive}: no {LABELS_IN_EXPORT} in the archive")
        bundle.extractall(folder)
    return folder / LABELS_IN_EXPORT


class PosterDrawing:
    """Draws members' posters from the template a labelled line names, once per template and code."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._drawn: dict[str, Path] = {}

    def __call__(self, item: dict[str, Any], folder: Path) -> Path:
        template, payload = item["template"], item["qr_payload"]
        image = template.get("image")
        if not isinstance(image, str) or not (folder / image).is_file():
            raise ManifestError(f"template image {image!r} is not there")
        key = hashlib.sha256(f"{image}\n{payload}".encode()).hexdigest()[:24]
        if key in self._drawn:
            return self._drawn[key]
        try:
            layout = _layout(template.get("layout"))
            texts = template.get("texts") or {}
            poster = render_poster((folder / image).read_bytes(), layout, payload, texts)
        except (PosterError, PosterLayoutError, TypeError, ValueError, KeyError) as exc:
            raise ManifestError(f"cannot draw the poster from {image!r}: {exc}") from None
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.jpg"
        path.write_bytes(poster)
        self._drawn[key] = path
        return path


def _layout(raw: Any) -> PosterLayout:
    """A layout as ``PosterLayout.as_dict`` wrote it."""
    if not isinstance(raw, dict):
        raise ValueError("the template has no layout")
    slots = tuple(TextSlot(**slot) for slot in raw.get("texts", ()))
    return PosterLayout(width=raw["width"], height=raw["height"], qr=QrBox(**raw["qr"]), texts=slots)


def run_verify_screenshots(
    console: Console,
    manifest: Path | None,
    out: Path,
    *,
    workers: int | None,
    engine: str,
    labels: Path | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> int:
    try:
        summary = verify_manifest(manifest, out, workers=workers, engine=engine, labels=labels, time_limit=time_limit)
    except (ManifestError, OcrUnavailable, OSError, zipfile.BadZipFile) as exc:
        console.print(f"[red]verify-screenshots:[/red] {escape(str(exc))}")
        return 2
    for line in summary.lines():
        console.print(line, markup=False, highlight=False)
    return 0
