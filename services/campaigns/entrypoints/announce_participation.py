"""A one-off job: announce every campaign participant's standing on ``campaigns.participation``.

``python -m services.campaigns.entrypoints.announce_participation`` with the campaigns worker's
environment. Run it once when segments start keeping their own copy of participation, and again
whenever the worker logged "participation not announced": it is safe to repeat.
"""

from __future__ import annotations

import asyncio

import structlog

from services.campaigns.bootstrap_worker import announce_all_participation
from services.campaigns.settings import CampaignsSettings
from shared.observability import configure_logging
from shared.settings import load_settings

log = structlog.get_logger("campaigns.announce_participation")


def main() -> None:
    settings = load_settings(CampaignsSettings)
    configure_logging(settings)
    count = asyncio.run(announce_all_participation(settings))
    log.info("participation announced", participants=count)


if __name__ == "__main__":
    main()
