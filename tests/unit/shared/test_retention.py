"""Every collection has a retention decision; TTL retentions come from settings and reach the indexes.

The collections are found in the code itself (the names adapters index or subscript a database with),
so a new collection without an entry in ``shared.storage.RETENTIONS`` fails here.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from datetime import timedelta
from pathlib import Path

import pytest

import services
import shared
from shared.contracts import TOPICS
from shared.settings import ServiceSettings, SettingsError
from shared.storage import (
    PROCESSED_EVENTS,
    PROCESSED_EVENTS_INDEXES,
    RETENTIONS,
    Enforcement,
    IndexSpec,
    shortest_claim_retention,
    ttl_indexes,
    with_retention,
)

ROOT = Path(__file__).resolve().parents[3]
#: Calls whose first argument is a collection name.
_COLLECTION_CALLS = {"IndexSpec", "MongoCounters", "counter_indexes"}
#: Kafka keeps records 7 days by default: a claim must outlive any redelivery.
KAFKA_RETENTION_DAYS = 7


def collections_in_source(source: str) -> set[str]:
    """Collection names a storage module uses: its string constants (or literals) that index a
    database, or name the collection of an index or counter."""
    tree = ast.parse(source)
    constants: dict[str, str] = {}
    for statement in tree.body:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target, value = statement.targets[0], statement.value
        pairs: list[tuple[ast.expr, ast.expr]] = []
        if isinstance(target, ast.Name):
            pairs = [(target, value)]
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            pairs = list(zip(target.elts, value.elts, strict=False))
        for named_as, constant in pairs:
            if (
                isinstance(named_as, ast.Name)
                and isinstance(constant, ast.Constant)
                and isinstance(constant.value, str)
            ):
                constants[named_as.id] = constant.value
    found: set[str] = set()

    def named(node: ast.expr, literal_ok: bool) -> None:
        if isinstance(node, ast.Name) and node.id.isupper() and node.id in constants:
            found.add(constants[node.id])
        elif literal_ok and isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            holder = ast.unparse(node.value).lower()
            named(node.slice, literal_ok="database" in holder or "_db" in holder or holder == "db")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in _COLLECTION_CALLS:
                named(node.args[0], literal_ok=True)
                for arg in node.args[1:]:  # MongoCounters(database, COLLECTION)
                    named(arg, literal_ok=False)
    return found


def _storage_modules() -> list[str]:
    names = []
    for package in (services, shared):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            path = ROOT / (module.name.replace(".", "/") + ("/__init__.py" if module.ispkg else ".py"))
            if path.exists() and ("pymongo" in (text := path.read_text(encoding="utf-8")) or "shared.storage" in text):
                names.append(module.name)
    return names


def collections_in_code() -> dict[str, set[str]]:
    """Every collection name found in the product, with the modules naming it."""
    found: dict[str, set[str]] = {}
    for name in _storage_modules():
        path = ROOT / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = ROOT / name.replace(".", "/") / "__init__.py"
        collections = collections_in_source(path.read_text(encoding="utf-8"))
        module = importlib.import_module(name)
        for value in vars(module).values():  # indexes built from names declared elsewhere (read models)
            specs = value if isinstance(value, tuple | list) else (value,)
            collections |= {spec.collection for spec in specs if isinstance(spec, IndexSpec)}
        for collection in collections:
            found.setdefault(collection, set()).add(name)
    return found


def test_every_collection_in_the_code_has_a_retention_decision() -> None:
    decided = {retention.collection for retention in RETENTIONS}
    found = collections_in_code()
    assert {"processed_events", "profile_history", "push_deliveries", "audit_log", "teams"} <= set(found)
    missing = {collection: sorted(modules) for collection, modules in found.items() if collection not in decided}
    assert not missing, f"add a retention decision to shared.storage.RETENTIONS for: {missing}"


def test_a_new_collection_is_noticed() -> None:
    source = """
from pymongo.asynchronous.database import AsyncDatabase
VISITS, OTHER = "member_visits", "not_a_collection"
STAMPS = "stamps"
INDEXES = (IndexSpec("scans", (("at", 1),), name="at"),)

async def add(database: AsyncDatabase) -> None:
    await database[VISITS].insert_one({"at": 1})
    await database["raw_clicks"].insert_one({})
    counters = MongoCounters(database, STAMPS)
    labels = {"a": 1}["a"]
"""
    assert collections_in_source(source) == {"member_visits", "scans", "raw_clicks", "stamps"}


def test_each_decision_is_complete_and_unique() -> None:
    names = [retention.collection for retention in RETENTIONS]
    assert len(names) == len(set(names))
    for retention in RETENTIONS:
        assert retention.holds and retention.bound, retention.collection
        if retention.enforced is Enforcement.TTL:
            assert retention.date_field and retention.setting in ServiceSettings.model_fields, retention.collection


def test_processed_events_outlive_every_record_kafka_may_hold() -> None:
    longest = max(topic.retention for topic in TOPICS if topic.retention is not None)
    assert shortest_claim_retention() == longest + timedelta(days=8)  # whole-segment deletion, TTL lag
    assert timedelta(days=ServiceSettings().processed_events_retention_days) >= shortest_claim_retention()
    with pytest.raises(ValueError, match="processed_events_retention_days"):
        ServiceSettings(processed_events_retention_days=KAFKA_RETENTION_DAYS)
    # A consumer (it declares the claims' collection) refuses a retention Kafka could outlast.
    short = ServiceSettings(processed_events_retention_days=shortest_claim_retention().days - 1)
    with pytest.raises(SettingsError, match="PROCESSED_EVENTS_RETENTION_DAYS must be at least 38"):
        with_retention(PROCESSED_EVENTS_INDEXES, short)
    assert with_retention((), short) == ()  # a process without claims does not care


def test_ttl_indexes_take_their_days_from_the_settings() -> None:
    settings = ServiceSettings(history_retention_days=10, audit_retention_days=20)
    by_collection = {spec.collection: spec for spec in ttl_indexes(settings)}
    assert by_collection["profile_history"].expire_after_seconds == 10 * 86400
    assert by_collection["audit_log"].expire_after_seconds == 20 * 86400
    assert by_collection["share_submission_audit"].expire_after_seconds == 20 * 86400
    assert by_collection[PROCESSED_EVENTS].keys == (("processed_at", 1),)
    assert {"members", "outbox", "push_ledger"}.isdisjoint(by_collection)


def test_a_process_gets_the_ttl_of_the_collections_it_declares_only() -> None:
    settings = ServiceSettings()
    other = IndexSpec("profile_history", (("appid", 1), ("openid", 1), ("at", -1)), name="member_at")
    specs = with_retention((*PROCESSED_EVENTS_INDEXES, other), settings)
    # The plain index on processed_at becomes the TTL one (no second index on the same field).
    assert [s for s in specs if s.collection == PROCESSED_EVENTS] == [
        IndexSpec(PROCESSED_EVENTS, (("processed_at", 1),), name="processed_at", expire_after_seconds=45 * 86400)
    ]
    assert {s.collection for s in specs} == {PROCESSED_EVENTS, "profile_history"}
    assert other in specs


def test_docs_list_every_store_and_its_retention() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("## Retention", 1)[1].split("\n## ", 1)[0]
    missing = [r.collection for r in RETENTIONS if f"`{r.collection}`" not in section]
    assert not missing, f"docs/operations.md, Retention, does not list: {missing}"
    for setting in {r.setting for r in RETENTIONS if r.setting}:
        assert setting.upper() in section, setting


def test_only_the_unit_of_work_writes_processed_events() -> None:
    """Claims are written by ``MongoUnitOfWork`` alone, which dates each (``processed_at``): a service
    writing its own would need its own date or never expire."""
    writers = set()
    for name in _storage_modules():
        path = ROOT / (name.replace(".", "/") + ".py")
        source = path.read_text(encoding="utf-8") if path.exists() else ""
        if "[PROCESSED_EVENTS]" in source or '["processed_events"]' in source:
            writers.add(name)
    assert writers == {"shared.storage._unit_of_work"}


def test_a_declared_index_on_the_date_field_becomes_the_ttl_index_in_its_order() -> None:
    declared = (
        IndexSpec("audit_log", (("at", -1),), "audit_at"),
        IndexSpec("audit_log", (("actor_id", 1), ("at", -1)), "audit_actor"),
    )
    specs = with_retention(declared, ServiceSettings(audit_retention_days=2))
    assert specs == (
        IndexSpec("audit_log", (("actor_id", 1), ("at", -1)), "audit_actor"),
        IndexSpec("audit_log", (("at", -1),), "audit_at", expire_after_seconds=2 * 86400),
    )


def _expiring_in_source(source: str) -> set[str]:
    """Collections of the ``IndexSpec(...)`` calls in ``source`` that set ``expire_after_seconds``."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "IndexSpec"
            and node.args
            and any(keyword.arg == "expire_after_seconds" for keyword in node.keywords)
        ):
            first = node.args[0]
            if isinstance(first, ast.Name) and first.id in constants:
                found.add(constants[first.id])
            elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def test_a_collection_said_to_expire_by_its_own_rule_has_its_ttl_index() -> None:
    expiring: set[str] = set()
    for name in _storage_modules():
        path = ROOT / (name.replace(".", "/") + ".py")
        if path.exists():
            expiring |= _expiring_in_source(path.read_text(encoding="utf-8"))
    in_code = set(collections_in_code())
    own = {r.collection for r in RETENTIONS if r.enforced is Enforcement.OWN_TTL and r.collection in in_code}
    assert own and own <= expiring, own - expiring
