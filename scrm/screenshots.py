"""``scrm verify-screenshots``: the offline evaluation, with its summary on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from rich.console import Console
from rich.markup import escape

from services.screenshots.adapters.ocr import OcrEngineName, OcrUnavailable, find_tessdata
from services.screenshots.adapters.pool import AnalysisPool
from services.screenshots.service_layer.evaluation import ManifestError, Summary, evaluate_manifest, read_manifest

__all__ = ["run_verify_screenshots", "verify_manifest"]


def verify_manifest(manifest: Path, out: Path, *, workers: int | None = None, engine: str = "tesserocr") -> Summary:
    """Evaluate ``manifest`` into ``out``; raises ManifestError or OcrUnavailable on unusable input."""
    if engine not in ("tesserocr", "pytesseract"):
        raise ManifestError(f"unknown OCR engine {engine!r}: use tesserocr or pytesseract")
    lines = read_manifest(manifest)
    find_tessdata()  # fail before starting workers
    pool = AnalysisPool(workers, engine=cast(OcrEngineName, engine))
    try:
        pool.warm_up()
        return evaluate_manifest(lines, out, pool)
    finally:
        pool.close()


def run_verify_screenshots(console: Console, manifest: Path, out: Path, *, workers: int | None, engine: str) -> int:
    try:
        summary = verify_manifest(manifest, out, workers=workers, engine=engine)
    except (ManifestError, OcrUnavailable, OSError) as exc:
        console.print(f"[red]verify-screenshots:[/red] {escape(str(exc))}")
        return 2
    for line in summary.lines():
        console.print(line, markup=False, highlight=False)
    return 0
