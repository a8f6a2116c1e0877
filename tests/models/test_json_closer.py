"""Closing a JSON text cut off anywhere, as a turn plan is when the model runs out of tokens."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from core.dialogue.plan import TurnPlan, plan_schema
from core.tenants.document import load_tenant_file
from models.json_skeleton import JsonCloser
from tests.conftest import EXAMPLE_TENANT

_OBJECT = {"type": "object", "properties": {"a": {"type": "array"}}}


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        (None, '{"intent": "question", "slots": {}, "reply": "We are open Monday: 7:30 am to 5 pm. Tuesday"}'),
        (None, '{"intent": "booking", "slots": {"name": "Zo\\u00eb \\"Z\\" Smith", "notes": ["a", "b"]}}'),
        (None, '{"a": [1, -2.5e+3, {"b": "}]{[ not structure"}, true, false, null], "c": {"d": []}}'),
        (_OBJECT, '{"a":[{"x":1},[]],"b":"\\\\"}'),
    ],
)
def test_a_text_cut_anywhere_closes_into_valid_json(schema: dict[str, Any] | None, text: str) -> None:
    for end in range(len(text) + 1):
        cut = text[:end]
        closer = JsonCloser(schema)
        for i in range(0, len(cut), 3):  # fed in pieces, as tokens arrive
            closer.feed(cut[i : i + 3])
        closed = cut + closer.closing()
        if cut.startswith("{"):
            assert isinstance(json.loads(closed), dict), closed


def test_a_plan_cut_anywhere_still_decodes_as_a_plan() -> None:
    """Seen on CI: a plan cut right after the forced ``"slots": `` closed as ``"slots": }``; the owed value
    must have the schema's type (an object), or the plan does not decode."""
    schema = plan_schema(load_tenant_file(EXAMPLE_TENANT))
    text = '{"intent": "booking", "reply": "Yes, \\"Tue\\" ok.", "slots": {"when": "Tuesday", "urgency": "hot"}}'
    for end in range(1, len(text) + 1):
        closer = JsonCloser(schema)
        closer.feed(text[:end])
        closed = text[:end] + closer.closing()
        plan = msgspec.json.decode(closed, type=dict[str, Any])
        assert isinstance(plan.get("slots", {}), dict), closed
        assert plan.get("intent", "question") in schema["properties"]["intent"]["enum"], closed
        if "reply" in plan and "slots" in plan:
            msgspec.json.decode(closed, type=TurnPlan)


def test_nothing_to_add_to_a_complete_text() -> None:
    closer = JsonCloser()
    closer.feed('{"reply": "done \\\\"}')
    assert closer.closing() == ""
