"""``python -m tests.faults [--seed N] [--pushes N] [--no-broker-restarts]``: one run, its figures, and
exit status 1 when anything was lost, doubled or did not recover."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from pathlib import Path

from tests.faults.runner import run
from tests.faults.scenario import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--pushes", type=int, default=10_000)
    parser.add_argument(
        "--no-broker-restarts", action="store_true", help="leave the broker alone (it restarts by default)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--workdir", type=Path, help="keep the processes' logs here (default: a temporary directory)")
    args = parser.parse_args(argv)
    # SIGTERM's default would end this process at once and leave the stack's processes running: end the
    # run as Ctrl-C does instead, through the clean-up that stops them.
    for stopping in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stopping, _exit_cleanly)
    scenario = generate(args.seed, args.pushes, broker_restarts=not args.no_broker_restarts)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        figures = run(scenario, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="scrm-faults-") as workdir:
            figures = run(scenario, Path(workdir))
    print(figures.summary())  # noqa: T201
    if args.json:
        args.json.write_text(json.dumps(figures.as_json(), indent=2, ensure_ascii=False))
    healthy = figures.lost == 0 and figures.doubled == 0 and figures.refused == 0
    return 0 if healthy and figures.recovered == figures.injected else 1


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
