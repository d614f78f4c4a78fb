"""The segment rule builder's model: the segments API's rule tree as the form edits it. Pure.

The builder keeps the tree in form fields, one set per node, named by the node's place (``r`` is the
root group, ``r.0`` its first child, ``r.0.2`` that one's third): ``node`` lists the places,
``k.<place>`` is the node's kind and ``v.<place>.<param>`` its inputs, kept as typed (strings). Every
edit posts the whole form; the server rebuilds the tree, applies the edit and renders it again.

The API decides what a valid rule is: values go to it as typed (a number that does not parse goes as
text) and its 422s, which name the place in the JSON (``rule.all[2].tag_weight.min``), are mapped
back to the node they concern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.console.domain.messages import N_

__all__ = [
    "CONSENTS",
    "GROUP_KINDS",
    "PREDICATES",
    "STAGES",
    "Built",
    "Node",
    "apply",
    "from_form",
    "from_rule",
    "new_condition",
    "new_tree",
    "problems_by_place",
    "to_rule",
]

ROOT = "r"

#: Groups: all of / any of / none of the conditions inside.
GROUP_KINDS: dict[str, str] = {
    "all": N_("All of"),
    "any": N_("Any of"),
    "not": N_("None of"),
}

#: Every predicate of the segments API (services/segments/domain/rules.py), with its label.
PREDICATES: dict[str, str] = {
    "has_tag": N_("Has tag"),
    "tag_weight": N_("Tag weight at least"),
    "stage_in": N_("Life stage is"),
    "pregnancy_week": N_("Pregnancy week"),
    "baby_age_months": N_("Baby's age in months"),
    "followed_since": N_("First followed on or after"),
    "followed_before": N_("First followed before"),
    "active_within_days": N_("Active within the last days"),
    "joined_campaign": N_("Joined campaign"),
    "invited_at_least": N_("Invited at least"),
    "spend_tier": N_("Spend tier"),
    "consent": N_("Has consented to"),
    "account": N_("Official Account"),
}

#: Life stages, as the shared model names them (``shared.maternal_infant.Stage``).
STAGES: dict[str, str] = {
    "stage.preparing": N_("Preparing for pregnancy"),
    "stage.pregnancy.early": N_("Early pregnancy (weeks 1-13)"),
    "stage.pregnancy.mid": N_("Mid pregnancy (weeks 14-27)"),
    "stage.pregnancy.late": N_("Late pregnancy (week 28 to birth)"),
    "stage.baby.0_6m": N_("Baby 0-6 months"),
    "stage.baby.6_12m": N_("Baby 6-12 months"),
    "stage.child.1_3y": N_("Child 1-3 years"),
    "stage.child.3y_plus": N_("Child 3 years and up"),
}

CONSENTS: dict[str, str] = {"marketing": N_("Marketing messages"), "data_use": N_("Data use")}

#: Where numbers stop, as the API checks them (shown beside the inputs).
LIMITS = {"pregnancy_week": 42, "baby_age_months": 240, "tag_weight": 25, "active_within_days": 3650}

_MULTI = frozenset({"values"})
_PLACE = re.compile(r"^r(\.\d{1,3}){0,32}$")


@dataclass
class Node:
    """A group (``all``/``any``/``not`` with ``children``) or a condition (a predicate with ``params``)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.kind in GROUP_KINDS

    def param(self, name: str) -> str:
        value = self.params.get(name, "")
        return value if isinstance(value, str) else ""

    def values(self) -> list[str]:
        found = self.params.get("values", [])
        return list(found) if isinstance(found, list) else []

    def raw(self) -> str:
        return self.param("raw")


def new_condition(kind: str = "has_tag") -> Node:
    return Node(kind if kind in PREDICATES else "has_tag")


def new_tree() -> Node:
    return Node("all", children=[new_condition()])


# -- the form -------------------------------------------------------------------------------------------


def from_form(items: Iterable[tuple[str, str]]) -> Node:
    """The tree the form's fields describe (a new one when they describe none)."""
    places: list[str] = []
    kinds: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    for name, value in items:
        if name == "node" and _PLACE.match(value) and value not in places:
            places.append(value)
        elif name.startswith("k."):
            kinds[name[2:]] = value
        elif name.startswith("v."):
            place, _, param = name[2:].rpartition(".")
            bucket = params.setdefault(place, {})
            if param in _MULTI:
                bucket.setdefault(param, []).append(value)
            else:
                bucket[param] = value
    if ROOT not in places:
        return new_tree()
    nodes = {
        place: Node(kinds.get(place) or "all", params=params.get(place, {}))
        if (kinds.get(place) or "all") in GROUP_KINDS
        else _condition(kinds.get(place, ""), params.get(place, {}))
        for place in places
    }
    # Children in the order of their numbers; a place whose parent is missing is dropped.
    for place in sorted(nodes, key=_order):
        if place == ROOT:
            continue
        parent = nodes.get(place.rpartition(".")[0])
        if parent is not None and parent.is_group:
            parent.children.append(nodes[place])
    root = nodes[ROOT]
    return root if root.is_group else Node("all", children=[root])


def _condition(kind: str, params: dict[str, Any]) -> Node:
    if kind == "raw" or kind in PREDICATES:
        return Node(kind, params=params)
    return new_condition()


def _order(place: str) -> tuple[int, ...]:
    return tuple(int(part) for part in place.split(".")[1:])


def _find(root: Node, place: str) -> Node | None:
    node: Node | None = root
    for part in _order(place) if _PLACE.match(place) else (None,):
        if node is None or part is None or part >= len(node.children):
            return None
        node = node.children[part]
    return node


def apply(root: Node, op: str) -> Node:
    """An edit the builder's buttons name: ``add:<place>`` (a condition in that group), ``group:<place>``
    (a nested group), ``remove:<place>``. Anything else (a kind changed) only re-renders."""
    action, _, place = op.partition(":")
    if action in ("add", "group"):
        target = _find(root, place)
        if target is not None and target.is_group:
            target.children.append(new_condition() if action == "add" else Node("any", children=[new_condition()]))
    elif action == "remove" and place != ROOT:
        parent = _find(root, place.rpartition(".")[0])
        index = _order(place)[-1] if _PLACE.match(place) else -1
        if parent is not None and 0 <= index < len(parent.children):
            del parent.children[index]
    return root


# -- to and from the API's JSON -------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    rule: dict[str, Any]
    #: The API's path of each node (``rule.all[0]``) -> its place in the builder (``r.0``).
    places: dict[str, str]


def to_rule(root: Node) -> Built:
    places: dict[str, str] = {}
    return Built(_json(root, ROOT, "rule", places), places)


def _json(node: Node, place: str, path: str, places: dict[str, str]) -> dict[str, Any]:
    places[path] = place
    if node.kind in ("all", "any"):
        items = [
            _json(child, f"{place}.{i}", f"{path}.{node.kind}[{i}]", places) for i, child in enumerate(node.children)
        ]
        return {node.kind: items}
    if node.kind == "not":
        if len(node.children) == 1:
            return {"not": _json(node.children[0], f"{place}.0", f"{path}.not", places)}
        # "None of" several: not (any of them).
        places[f"{path}.not"] = place
        items = [_json(child, f"{place}.{i}", f"{path}.not.any[{i}]", places) for i, child in enumerate(node.children)]
        return {"not": {"any": items}}
    if node.kind == "raw":
        return _kept(node.raw())
    return {node.kind: _value(node)}


def _kept(raw: str) -> dict[str, Any]:
    """A node the builder cannot edit, sent back as it came."""
    try:
        kept = json.loads(raw)
    except ValueError:
        return {}
    return kept if isinstance(kept, dict) else {}


def _number(text: str) -> Any:
    """A typed number as JSON: an int or a float when it parses, else the text (the API says why not)."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _value(node: Node) -> Any:
    p = node.param
    match node.kind:
        case "has_tag":
            return p("code")
        case "tag_weight":
            return {"code": p("code"), "min": _number(p("min"))}
        case "stage_in" | "spend_tier":
            return node.values()
        case "pregnancy_week" | "baby_age_months":
            return {name: _number(p(name)) for name in ("min", "max") if p(name).strip()}
        case "followed_since" | "followed_before":
            return p("day")
        case "active_within_days":
            return _number(p("days"))
        case "joined_campaign":
            return p("campaign")
        case "invited_at_least":
            value: dict[str, Any] = {"count": _number(p("count"))}
            if p("campaign"):
                value["campaign"] = p("campaign")
            return value
        case "consent" | "account":
            return p("value")
    return None


def from_rule(rule: Mapping[str, Any]) -> Node:
    """The builder's tree for a saved rule; the root is always a group."""
    node = _node(rule)
    return node if node.is_group else Node("all", children=[node])


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _node(data: Any) -> Node:
    if not isinstance(data, Mapping) or len(data) != 1:
        return Node("raw", params={"raw": json.dumps(data, ensure_ascii=False)})
    [(kind, value)] = data.items()
    if kind in ("all", "any") and isinstance(value, list):
        return Node(kind, children=[_node(child) for child in value])
    if kind == "not":
        if isinstance(value, Mapping) and set(value) == {"any"} and isinstance(value["any"], list):
            return Node("not", children=[_node(child) for child in value["any"]])
        return Node("not", children=[_node(value)])
    params = _params(kind, value)
    if params is None:
        return Node("raw", params={"raw": json.dumps({kind: value}, ensure_ascii=False)})
    return Node(kind, params=params)


def _params(kind: str, value: Any) -> dict[str, Any] | None:
    ranged = isinstance(value, Mapping)
    match kind:
        case "has_tag":
            return {"code": _text(value)}
        case "tag_weight" if ranged:
            return {"code": _text(value.get("code")), "min": _text(value.get("min"))}
        case "stage_in" | "spend_tier" if isinstance(value, list):
            return {"values": [str(v) for v in value]}
        case "pregnancy_week" | "baby_age_months" if ranged:
            return {"min": _text(value.get("min")), "max": _text(value.get("max"))}
        case "followed_since" | "followed_before":
            return {"day": _text(value)}
        case "active_within_days":
            return {"days": _text(value)}
        case "joined_campaign":
            return {"campaign": _text(value)}
        case "invited_at_least" if ranged:
            return {"count": _text(value.get("count")), "campaign": _text(value.get("campaign"))}
        case "consent" | "account":
            return {"value": _text(value)}
    return None


def problems_by_place(detail: Any, places: Mapping[str, str]) -> dict[str, list[str]]:
    """The API's 422 problems about the rule, by the builder place they concern (the deepest node whose
    path starts theirs); ``"rule"`` problems land on the root."""
    found: dict[str, list[str]] = {}
    if not isinstance(detail, list):
        return found
    for problem in detail:
        if not isinstance(problem, Mapping):
            continue
        path = problem.get("path")
        if not isinstance(path, str):
            loc = [str(part) for part in problem.get("loc", ()) if part != "body"]
            if not loc or loc[0] != "rule":
                continue
            path = ".".join(loc)
        place = places.get(_longest_prefix(path, places), "r")
        found.setdefault(place, []).append(str(problem.get("msg", "")))
    return found


def _longest_prefix(path: str, places: Mapping[str, str]) -> str:
    best = "rule"
    for candidate in places:
        if (path == candidate or path.startswith((candidate + ".", candidate + "["))) and len(candidate) > len(best):
            best = candidate
    return best
