"""``scrm verify-screenshots --labels``: a labelled set (JSON lines, or the review queue's export zip)
decided through the real pool, with the comparison against people's decisions on stderr."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from scrm import cli
from scrm.screenshots import LABELS_IN_EXPORT, run_verify_screenshots
from tests.unit.screenshots.pictures import FOREIGN_PAYLOAD, PAYLOAD, Member, encode, make_poster, make_shot


def export_zip(path: Path, extra: dict[str, bytes] | None = None) -> Path:
    poster = make_poster(PAYLOAD)
    lines: list[dict[str, Any]] = [
        {
            "file": "images/mom.jpg",
            "poster": "posters/mom.png",
            "qr_payload": PAYLOAD,
            "campaign": "c1",
            "user": "o_mom",
            "label": "approve",
        },
        {
            "file": "images/dad.jpg",
            "poster": "posters/dad.png",
            "qr_payload": FOREIGN_PAYLOAD,
            "campaign": "c1",
            "user": "o_dad",
            "label": "reject",
            "reason": "foreign_qr",
        },
    ]
    shot = make_shot(poster, member=Member(avatar_photo=1, nickname="小雨妈妈"))
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr(LABELS_IN_EXPORT, "".join(json.dumps(line) + "\n" for line in lines))
        bundle.writestr("images/mom.jpg", shot)
        bundle.writestr("images/dad.jpg", shot)  # mom's picture, sent by dad: not his code
        bundle.writestr("posters/mom.png", encode(poster, "PNG"))
        bundle.writestr("posters/dad.png", encode(make_poster(FOREIGN_PAYLOAD), "PNG"))
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return path


def test_an_exported_zip_is_decided_and_compared_with_the_labels(tmp_path: Path) -> None:
    out = tmp_path / "decisions.jsonl"
    err = io.StringIO()
    code = run_verify_screenshots(
        Console(file=err, width=200), None, out, workers=1, engine="tesserocr", labels=export_zip(tmp_path / "e.zip")
    )
    assert code == 0, err.getvalue()
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["file"], r["decision"], r["label"], r["agrees"]) for r in results] == [
        ("images/mom.jpg", "approve", "approve", True),
        ("images/dad.jpg", "reject", "reject", True),
    ]
    assert results[1]["reasons"][0] == "foreign_qr"
    summary = err.getvalue()
    assert "auto-approve precision 100.00%, recall of genuine 100.00%, review rate 0.00%" in summary
    assert "  foreign_qr: 1 -> reject 1 (1 same reason)" in summary


def test_an_archive_that_would_write_outside_its_folder_is_refused(tmp_path: Path) -> None:
    archive = export_zip(tmp_path / "e.zip", {"../escape.txt": b"x"})
    err = io.StringIO()
    code = run_verify_screenshots(
        Console(file=err, width=200), None, tmp_path / "d.jsonl", workers=1, engine="tesserocr", labels=archive
    )
    assert code == 2 and "unsafe name" in err.getvalue()
    assert not (tmp_path.parent / "escape.txt").exists()


def test_an_archive_without_labels_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "e.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("images/a.jpg", b"x")
    err = io.StringIO()
    code = run_verify_screenshots(
        Console(file=err, width=200), None, tmp_path / "d.jsonl", workers=1, engine="tesserocr", labels=archive
    )
    assert code == 2 and "no labels.jsonl" in err.getvalue()


@pytest.mark.parametrize("given", [[], ["--manifest", "m.jsonl", "--labels", "l.jsonl"]], ids=["neither", "both"])
def test_the_command_takes_a_manifest_or_labels(tmp_path: Path, given: list[str]) -> None:
    result = CliRunner().invoke(cli.app, ["verify-screenshots", "--out", str(tmp_path / "d.jsonl"), *given])
    assert result.exit_code == 2
    assert "either --manifest or --labels" in result.output + (result.stderr if result.stderr_bytes else "")
