"""docs/configuration.md, rendered from the settings classes of every process in :data:`PROCESSES`.

Each field's text is the ``#:`` comment above it in its class (the same comments the code reads), so
the page changes when a setting does and a test keeps the committed page current (``make docs``).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator, Mapping
from datetime import time
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from scrm.processes import PROCESSES, ProcessSpec
from shared.settings import PLACEHOLDER_SECRETS, ServiceSettings

__all__ = ["render_configuration", "settings_classes", "undocumented"]

_REPO = Path(__file__).resolve().parents[1]
#: Defaults longer than this are shortened (a list's first entry and its length).
_MAX_DEFAULT = 60
#: Nested models whose fields are set one by one (``WECHAT_API__BASE_URL``) as well as whole (JSON).
_EXPANDED = ("WeChatApiConfig",)
_FIELD = re.compile(r"^\s{4}(\w+)\s*:")
_ROLE = re.compile(r":\w+:`~?([^`]+)`")


def settings_classes() -> dict[type[ServiceSettings], list[ProcessSpec]]:
    """Every settings class a process reads, with the processes that read it (in :data:`PROCESSES` order)."""
    classes: dict[type[ServiceSettings], list[ProcessSpec]] = {}
    for spec in PROCESSES.values():
        module, _, name = spec.settings.partition(":")
        cls = getattr(__import__(module, fromlist=[name]), name)
        classes.setdefault(cls, []).append(spec)
    return classes


def _comments(cls: type) -> dict[str, str]:
    """The ``#:`` comment above each field declared in ``cls``'s own body."""
    found: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = _FIELD.match(line)
        if match and pending:
            found[match[1]] = " ".join(pending)
        if stripped and not stripped.startswith("#"):
            pending = []
    return found


def _description(model: type[BaseModel], name: str) -> str:
    """A field's text: its ``#:`` comment in the nearest class declaring it, else its description."""
    for cls in model.__mro__:
        if name in getattr(cls, "__annotations__", {}):
            text = _comments(cls).get(name)
            if text:
                # reST to Markdown: roles to plain names, double backticks to single.
                return _ROLE.sub(r"\1", text).replace("``", "`")
    return model.model_fields[name].description or ""


def undocumented() -> list[str]:
    """``Class.field`` of every setting the page would show without a text (a test wants none)."""
    missing = []
    models: list[type[BaseModel]] = [ServiceSettings, *settings_classes(), *_nested_models()]
    for model in models:
        missing += [f"{model.__name__}.{name}" for name in model.model_fields if not _description(model, name)]
    return sorted(set(missing))


def _nested_models() -> list[type[BaseModel]]:
    return [
        nested
        for cls in settings_classes()
        for field in cls.model_fields.values()
        if (nested := _model_of(field)) is not None and nested.__name__ in _EXPANDED
    ]


def _default(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return None if field.default is PydanticUndefined else field.default


def _shown(value: Any) -> str:
    """A default as it would be written in the environment."""
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, Path):
        path = value.resolve() if value.is_absolute() else value
        value = str(path.relative_to(_REPO)) if path.is_relative_to(_REPO) else str(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, time):
        value = value.strftime("%H:%M")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        text = json.dumps(_jsonable(value), ensure_ascii=False, separators=(",", ":"))
        if len(text) > _MAX_DEFAULT and isinstance(value, list | tuple | dict):
            first = next(iter(value))
            if isinstance(value, dict):
                head = "{" + json.dumps(str(first)) + ":" + json.dumps(_jsonable(value[first]), ensure_ascii=False)
            else:
                head = "[" + json.dumps(_jsonable(first), ensure_ascii=False)
            text = f"{head}, …"
            return f"`{text}` ({len(value)} entries)"
    if text == "":
        return "empty"
    return f"`{text}`".replace("|", "\\|")


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _is_secret(field: FieldInfo) -> bool:
    annotation = field.annotation
    return annotation is SecretStr or SecretStr in get_args(annotation)


def _model_of(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _rows(model: type[BaseModel], names: list[str], prefix: str = "") -> Iterator[str]:
    for name in names:
        field = model.model_fields[name]
        variable = (prefix + name).upper()
        text = _description(model, name)
        nested = _model_of(field)
        if nested is not None and nested.__name__ in _EXPANDED:
            yield f"| `{variable}` | JSON object, or each field below as `{variable}__<FIELD>` | {_cell(text)} |"
            yield from _rows(nested, list(nested.model_fields), prefix=f"{prefix}{name}__")
            continue
        default = _default(field)
        marks = []
        if _is_secret(field):
            placeholder = isinstance(default, SecretStr) and default.get_secret_value() in PLACEHOLDER_SECRETS
            marks.append("**secret**" + (" (placeholder default: refused outside development)" if placeholder else ""))
        elif name == "wechat_accounts":
            marks.append("**holds secrets**")
        if get_origin(field.annotation) in (list, dict) or nested is not None:
            marks.append("JSON")
        cell = " ".join([_cell(text), *(f"_{m}_" if not m.startswith("**") else m for m in marks)]).strip()
        yield f"| `{variable}` | {_shown(default)} | {cell} |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _own_fields(cls: type[ServiceSettings], base: type[BaseModel]) -> list[str]:
    """Fields ``cls`` adds to ``base`` or declares again (with another default)."""
    names = []
    for name in cls.model_fields:
        subclasses = [k for k in cls.__mro__ if issubclass(k, base) and k is not base]
        declared = any(name in getattr(k, "__annotations__", {}) for k in subclasses)
        if name not in base.model_fields or declared:
            names.append(name)
    return names


def _section_base(cls: type[ServiceSettings]) -> type[ServiceSettings]:
    from shared.wechat import AccountsSettings

    return AccountsSettings if issubclass(cls, AccountsSettings) else ServiceSettings


def render_configuration() -> str:
    from shared.wechat import AccountsSettings

    classes = settings_classes()
    holders = [spec.name for cls, specs in classes.items() if issubclass(cls, AccountsSettings) for spec in specs]
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from the settings classes by `make docs`. Do not edit by hand. -->",
        "",
        "Every process reads one settings class at start-up, from the environment and from `.env` in the",
        "working directory (the environment wins). A variable is the field's name in upper case; a nested",
        "object is either one JSON value or its fields one by one joined with `__` (`WECHAT_API__BASE_URL`).",
        "Lists and objects are JSON. A bad value stops the process with a message naming the variable,",
        "never quoting a secret. Secrets are marked **secret**: outside `ENVIRONMENT=development` a",
        "placeholder (`changethis`, …) or a secret shorter than 16 characters is refused.",
        "",
        "[`.env.example`](../.env.example) starts every process as it is (a test loads it into every class",
        "below): copy it to `.env` and change the account before using a real one.",
        "",
        "## Which process reads what",
        "",
        "| process | kind | port | settings class | reads | start with |",
        "|---|---|---|---|---|---|",
    ]
    for cls, specs in classes.items():
        base = _section_base(cls)
        reads = "[every process](#every-process-servicesettings)"
        if base is AccountsSettings:
            reads += ", [the accounts](#wechat-accounts-accountssettings)"
        reads += f", [its own](#{cls.__name__.lower()})"
        for spec in specs:
            port = "health only" if spec.kind == "worker" else "HTTP"
            needs = ", ".join(f"`{name}` (without it {spec.without_needs})" for name in spec.needs)
            row = (
                f"| `{spec.name}` | {spec.kind} | {spec.default_port} ({port}) | `{cls.__name__}` | {reads} | {needs} |"
            )
            lines.append(row)
    lines += [
        "",
        "The port is `scrm run <process> --port`'s default; a worker's port serves only `/healthz`,",
        "`/readyz` and `/metrics`. An API answers without the worker named beside it, but what it starts",
        "waits on a topic until that worker runs (nothing is lost, only late); `scrm run` says so.",
        "",
        "## Every process (`ServiceSettings`)",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
        *_rows(ServiceSettings, list(ServiceSettings.model_fields)),
        "",
        "## WeChat accounts (`AccountsSettings`)",
        "",
        f"Read by {', '.join(f'`{name}`' for name in holders)}: each of them answers only for the accounts",
        "listed here (404 for others), so give them all the same `WECHAT_ACCOUNTS`. Every entry is checked",
        "by one validator (`shared.wechat.account_problems`) in every process and in every environment: the",
        "appid's shape (`wx` and 1-32 letters, digits or `_`) and an EncodingAESKey of 43 letters or digits",
        "(not needed in `plaintext` mode); outside development also no placeholder token or secret and an",
        "AppSecret of at least 16 characters; in production a token of 3-32 letters or digits.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
        *_rows(AccountsSettings, ["wechat_accounts"]),
        "",
        "An entry: `appid`, `token`, `encoding_aes_key`, `secret` (all required), `previous_encoding_aes_key`",
        "(during a key rotation), `mode` (`plaintext`, `compatible` or `safe`; default `compatible`) and",
        "`link_domains` (hosts pushed links may lead to).",
    ]
    for cls, specs in classes.items():
        base = _section_base(cls)
        names = [n for n in _own_fields(cls, base) if n != "service_name"]
        doc = (cls.__doc__ or "").strip()
        also = "every process's settings" + (" and the accounts" if base is AccountsSettings else "")
        lines += [
            "",
            f"## `{cls.__name__}`",
            "",
            f"Processes: {', '.join(f'`{spec.name}`' for spec in specs)}. Also reads {also}.",
        ]
        if doc and not doc.startswith(("Settings", "A base")):
            lines += ["", " ".join(doc.split()).replace("``", "`")]
        lines += ["", "| variable | default | meaning |", "|---|---|---|", *_rows(cls, names)]
    lines.append("")
    return "\n".join(lines)
