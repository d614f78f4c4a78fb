from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.wechat import APPID_PATTERN, AccountsSettings


class GatewaySettings(AccountsSettings):
    service_name: str = "gateway"
    #: Larger bodies are refused before parsing; real pushes are a few KB.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Pushes whose signed timestamp is further than this from now are refused as replays.
    replay_window_seconds: int = Field(default=300, ge=10, le=3600)
    #: Where retries are recognised: ``memory`` is exact for one gateway process; run several replicas
    #: with ``mongodb`` so a retry that reaches another replica is recognised too.
    push_ledger: Literal["memory", "mongodb"] = "memory"
    #: Also look accounts up in MongoDB (collection ``wechat_accounts``) when not in WECHAT_ACCOUNTS.
    accounts_from_mongodb: bool = True
    #: How many accounts read from MongoDB stay cached (least recently used forgotten first).
    account_cache_size: int = Field(default=10_000, ge=1)
    #: What an appid may look like; others are refused (404) before any lookup. WeChat's are ``wx`` and
    #: 16 hex digits (``wx[0-9a-f]{16}``, advisable in production); the default, the shape every
    #: service checks configured accounts against, also takes the short ones tests and the simulator use.
    appid_pattern: str = APPID_PATTERN
    #: Keep pushes the broker refuses (or does not take within ``outbox_publish_timeout_seconds``) in a
    #: durable local outbox, answer ``success`` and publish them in order when the broker is back.
    outbox_enabled: bool = True
    #: Where the outbox lives: a persistent volume in production (one directory per gateway replica;
    #: a replica takes the first free ``<dir>/<n>`` slot). Empty: a directory under the system's temp
    #: dir named after the topic prefix. Tests passing their own publisher get an outbox only with one.
    outbox_dir: Path | None = None
    #: The outbox's bound: beyond it pushes are refused (503) as without an outbox.
    outbox_max_bytes: int = Field(default=256 * 1024 * 1024, ge=64 * 1024)
    #: Past this the gateway logs an error and ``scrm_gateway_outbox_alarm`` is 1 (/metrics).
    outbox_alarm_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    #: How long a publish may take before the push goes to the outbox (WeChat waits 5 s for an answer).
    outbox_publish_timeout_seconds: float = Field(default=2.0, gt=0, le=4.0)
