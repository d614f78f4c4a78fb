from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from shared.wechat import AccountsSettings
from shared.wechat_client import WeChatApiConfig

#: Template fields WeChat no longer shows (May 2023): a notice's text there would vanish unseen.
_RETIRED_FIELDS = frozenset({"first", "remark"})


class NoticeTemplateSetting(BaseModel):
    """An account's service-notice template for held campaign notices (``NOTICE_TEMPLATES``)."""

    template_id: str = Field(min_length=1, max_length=128)
    #: Each keyword field's text, naming ``{notice}`` (the notice's text), ``{kind}`` or ``{time}``.
    fields: dict[str, str] = Field(min_length=1)
    #: Minutes a notice stays held (waiting for the member's next interaction) before the template.
    hold_minutes: int = Field(default=24 * 60, ge=1, le=30 * 24 * 60)
    url: str | None = None

    @field_validator("fields")
    @classmethod
    def _shown_fields_and_known_names(cls, fields: dict[str, str]) -> dict[str, str]:
        for name, text in fields.items():
            if name in _RETIRED_FIELDS:
                raise ValueError(f"{name!r} is no longer shown by WeChat: use a keyword field")
            try:
                text.format_map(dict.fromkeys(("notice", "kind", "time"), ""))
            except (KeyError, ValueError, IndexError) as error:
                raise ValueError(f"field {name!r}: only {{notice}}, {{kind}} and {{time}} may be named") from error
        return fields


class CampaignsSettings(AccountsSettings):
    service_name: str = "campaigns"
    #: Where the platform's API is: the real one in production, the simulator locally.
    wechat_api: WeChatApiConfig = Field(default_factory=WeChatApiConfig)
    #: Rendered posters are cached here per member, campaign and template version.
    poster_cache_dir: Path = Path(".scrm/posters")
    #: Processes that render posters (off the event loop).
    poster_workers: int = Field(default=2, ge=1, le=32)
    #: Start the poster and screenshot processes when the worker starts (in the background: readiness does
    #: not wait), not on the first follow or picture; off, they start on first use and save their memory
    #: on a worker that rarely sees either.
    warm_start: bool = True
    #: Largest poster template image accepted.
    max_template_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    #: Processes that analyse share screenshots (default: one per core); each is single-threaded.
    screenshot_workers: int | None = Field(default=None, ge=1, le=64)
    #: tesserocr runs tesseract in process (fast); pytesseract starts the binary per call.
    ocr_engine: Literal["tesserocr", "pytesseract"] = "tesserocr"
    #: Folder with chi_sim.traineddata; found in the usual places when unset.
    tessdata_dir: Path | None = None
    #: Largest screenshot accepted.
    max_screenshot_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)
    #: Seconds one screenshot's analysis may take (p95 is ~150 ms); past it the picture goes to review
    #: (``analysis_timeout``) and the stuck worker process is replaced.
    screenshot_time_limit: float = Field(default=2.0, gt=0, le=600)
    #: A JSON file of the verifier's thresholds (what a calibration run writes); unset: the defaults.
    screenshot_thresholds_file: Path | None = None
    #: Port of the worker's /healthz, /readyz and /metrics.
    worker_health_port: int = Field(default=8102, ge=0, le=65535)
    #: Seconds between the worker's sweeps confirming pending credits whose revocation window has
    #: passed (``verified_followers``) and sending campaign-ended notices; 0 turns the sweep off
    #: (``scrm campaigns confirm-credits`` still runs one).
    credit_confirm_seconds: float = Field(default=30.0, ge=0, le=3600)
    #: Seconds a credit's confirmation waits past its window, so an unfollow still in the broker's
    #: queue (sent within the window, read late) revokes it before it is confirmed.
    credit_confirm_grace_seconds: float = Field(default=60.0, ge=0, le=86400)
    #: Per account (appid): the service-notice template a campaign notice held for a closed window
    #: falls back to after ``hold_minutes`` (JSON: ``{"wx…": {"template_id": "…", "fields": {"thing1":
    #: "{notice}", "time2": "{time}"}, "hold_minutes": 1440}}``). Accounts without one keep held notices
    #: until the member's next interaction.
    notice_templates: dict[str, NoticeTemplateSetting] = Field(default_factory=dict)
    #: Seconds between the worker's sweeps of held notices due for their template.
    notice_fallback_seconds: float = Field(default=30.0, gt=0, le=3600)
