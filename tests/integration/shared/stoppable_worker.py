"""A worker whose handler can be made to hang on one member's record, for the stop-mid-batch tests.

``python -m tests.integration.shared.stoppable_worker LOG BLOCK_AT [--batch | --partitions]``: consumes
``wechat.pushes`` (prefix and broker from the environment, like every service) and writes a line to
LOG when it starts and when it finishes a record; on the record of openid BLOCK_AT it never finishes,
as a handler waiting on a database that went away would. The test then stops it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from shared.contracts import WECHAT_PUSHES
from shared.events import Envelope, Message
from shared.messaging import Batching, Subscription, create_worker_app, run_worker
from shared.observability import configure_logging
from shared.settings import ServiceSettings


def main(argv: Sequence[str]) -> None:
    log, block_at, batch, partitions = Path(argv[0]), argv[1], "--batch" in argv, "--partitions" in argv

    def note(line: str) -> None:
        with log.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    async def stuck_if(openids: Sequence[str]) -> None:
        for openid in openids:
            note(f"started {openid}")
        if block_at in openids:
            await asyncio.Event().wait()  # never set
        for openid in openids:
            note(f"done {openid}")

    async def handle(_: object, envelope: Envelope, message: Message) -> None:
        await stuck_if([str(getattr(message, "openid", ""))])

    async def handle_batch(_: object, records: Sequence[tuple[Envelope, Message]]) -> None:
        await stuck_if([str(getattr(message, "openid", "")) for _, message in records])

    @asynccontextmanager
    async def resources() -> AsyncIterator[object]:
        yield object()

    settings = ServiceSettings(service_name="stoppable-worker")
    configure_logging(settings)
    subscription = Subscription(
        name="stoppable",
        topic=WECHAT_PUSHES,
        handler=handle,
        batch=Batching(handle_batch, max_records=3, within=0.05) if batch else None,
        partitions_in_parallel=partitions,
    )
    run_worker(create_worker_app(settings, name="stoppable", resources=resources, subscriptions=[subscription]))


if __name__ == "__main__":
    main(sys.argv[1:])
