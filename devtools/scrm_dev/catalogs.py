"""``python -m scrm_dev.catalogs DIR``: list the catalog entries still waiting for a translation."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po


def untranslated(directory: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalog = read_po(source)
        missing = [str(m.id) for m in catalog if m.id and (not m.string or m.fuzzy)]
        if missing:
            found[str(po)] = missing
    return found


def main() -> int:
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "services/console/translations")
    missing = untranslated(directory)
    for path, ids in missing.items():
        sys.stdout.write(f"{path}: {len(ids)} to translate\n")
        for message_id in ids:
            sys.stdout.write(f"  {message_id}\n")
    if not missing:
        sys.stdout.write("every console text is translated\n")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
