"""Settings shared by every service: one pydantic-settings class per service, built at start-up.

Services subclass :class:`ServiceSettings`, add their own fields and pass the instance down; nothing
reads the environment anywhere else.
"""

from shared.settings._base import (
    MIN_SECRET_LENGTH,
    PLACEHOLDER_SECRETS,
    Environment,
    LogFormat,
    ServiceSettings,
    SettingsError,
    is_placeholder,
    load_settings,
    secret_problem,
)

__all__ = [
    "MIN_SECRET_LENGTH",
    "PLACEHOLDER_SECRETS",
    "Environment",
    "LogFormat",
    "ServiceSettings",
    "SettingsError",
    "is_placeholder",
    "load_settings",
    "secret_problem",
]
