"""Intents by meaning: a task the caller's words clearly mean overrules the small model's chat label, and a
plain question stays a question (real embedder; the model's label is given, as the LLM would give it)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import structlog

from appliance.runtime import Runtime
from core.dialogue.facts import FactVectors
from core.dialogue.flow import Flow
from core.tenants.document import load_tenant_file
from tests.conftest import EXAMPLE_TENANT, TENANTS

DENTIST = load_tenant_file(TENANTS / "lakeside-dental.toml")
PLUMBER = load_tenant_file(EXAMPLE_TENANT)


def _flow(runtime: Runtime, tenant_file: str = "dentist") -> Flow:
    tenant = DENTIST if tenant_file == "dentist" else PLUMBER
    return Flow(
        tenant,
        now=lambda: datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo(tenant.timezone)),
        caller_number=None,
        has_tool=lambda name: True,
        retrieval=False,
        log=structlog.get_logger("test"),
        vectors=FactVectors(runtime.models.embedder),
    )


@pytest.mark.parametrize(
    ("said", "labelled", "meant"),
    [
        ("Is this Mario's pizzeria? I wanted to order a pizza", "question", "wrong_number"),
        ("hello, is that Bella's nail bar? I need to book a manicure", "question", "wrong_number"),
        ("hello, is that Bella's nail bar? My nails need doing", "question", "wrong_number"),
        ("I have a complaint about my last visit", "question", "person"),
        (
            "Roughly how much would a full set of veneers cost? We're thinking about it for next year",
            "question",
            "lead",
        ),
        ("Can you get someone to ring me back this afternoon", "other", "message"),
    ],
)
async def test_a_task_the_words_mean_overrules_a_chat_label(
    runtime: Runtime, said: str, labelled: str, meant: str
) -> None:
    flow = _flow(runtime)
    await flow.read(said)
    assert flow.refine(labelled, said) == meant


@pytest.mark.parametrize(
    "said",
    [
        "How much is teeth whitening?",
        "Do you take Cigna insurance?",
        "What time are you open till on Thursday?",
        "Is there parking near you?",
        "do you do braces",
        "is that right? the whitening is 350?",
        "Is this the dentist on Lake Street?",
        "is this Lakeside? how much is a check-up",
    ],
)
async def test_a_question_stays_a_question(runtime: Runtime, said: str) -> None:
    flow = _flow(runtime)
    await flow.read(said)
    assert flow.refine("question", said) == "question"


async def test_a_task_label_is_never_overruled_by_meaning(runtime: Runtime) -> None:
    """The model's task labels stand (the flow's own phrases may still move a booking to a cancel)."""
    flow = _flow(runtime, "plumber")
    said = "Is this the pizza place? I want to book a table"
    await flow.read(said)
    assert flow.refine("booking", said) == "booking"
