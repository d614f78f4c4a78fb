"""``python -m shared.localinfra._objects_server --host H --port P``: moto's S3 server for the local broker.

moto's server with its per-request log lines silenced (the broker makes several requests per produce).
``LocalInfrastructure`` creates the bucket once it answers. Not imported by the package: it is only run.
"""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.localinfra._objects_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        from moto import server
    except ModuleNotFoundError:
        sys.stderr.write("moto is not installed (pip install 'scrm[localinfra]')\n")
        return 3
    # werkzeug logs a line per request; the broker makes thousands a minute.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server.main(["--host", args.host, "--port", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
