"""Closing a JSON text cut off mid-value, as a turn plan is when the model runs out of tokens."""

from __future__ import annotations

import json

import pytest

from models.json_skeleton import JsonCloser


@pytest.mark.parametrize(
    "cut",
    [
        '{"intent": "question", "slots": {}, "reply": "We are open Monday: 7:30 am to 5 pm. Tuesday',
        '{"intent": "booking", "slots": {"name": "Zo\\u00eb \\"Z\\" Smith", "notes": ["a", "b',
        '{"intent": "question", "slots": {"day": "tomor',
        '{"a": [1, 2, {"b": "}]{[ not structure',
    ],
)
def test_a_text_cut_inside_a_value_closes_into_valid_json(cut: str) -> None:
    closer = JsonCloser()
    for i in range(0, len(cut), 7):  # fed in pieces, as tokens arrive
        closer.feed(cut[i : i + 7])
    json.loads(cut + closer.closing())


def test_nothing_to_add_to_a_complete_text_and_nothing_after_a_dangling_escape() -> None:
    closer = JsonCloser()
    closer.feed('{"reply": "done"}')
    assert closer.closing() == ""
    closer = JsonCloser()
    closer.feed('{"reply": "half \\')
    assert closer.closing() == ""
