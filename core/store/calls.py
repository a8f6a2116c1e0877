"""Calls, their turns and tool calls, and the usage they add up to."""

from __future__ import annotations

from typing import Any

import msgspec

from core.errors import NotFoundError
from core.records import CallAnalysis, CallRecord, Latency, ToolCallRecord, TurnRecord
from core.store.database import Store, new_id, utcnow


def _json(value: Any) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


class CallRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def close_orphans(self) -> int:
        """Calls left active by a process that stopped mid-call: their finished turns are kept, and the call is
        marked so it does not look live."""
        orphans = self._store.scalar("SELECT count(*) FROM calls WHERE status = 'active'")
        if orphans:
            self._store.execute(
                "UPDATE calls SET status = 'interrupted', end_reason = 'the appliance stopped during the call', "
                "ended_at = coalesce(ended_at, ?) WHERE status = 'active'",
                [utcnow()],
            )
        return int(orphans)

    def start(self, call: CallRecord) -> None:
        self._store.execute(
            "INSERT INTO calls (id, tenant_id, assistant_id, channel, caller, callee, started_at, status, meta) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?)",
            [
                call.id,
                call.tenant_id,
                call.assistant_id,
                call.channel,
                call.caller,
                call.callee,
                call.started_at,
                _json(call.meta),
            ],
        )

    def correct_turn(self, tenant_id: str, call_id: str, turn: TurnRecord) -> None:
        """A stored turn's caller words and plan as they must be kept from now on (redacted after the fact)."""
        self._store.execute(
            "UPDATE turns SET caller_text = ?, plan = ? WHERE tenant_id = ? AND call_id = ? AND idx = ?",
            [turn.caller, _json(turn.plan), tenant_id, call_id, turn.idx],
        )

    def add_turn(self, tenant_id: str, call_id: str, turn: TurnRecord) -> None:
        """The turn itself; its tool calls are written as they happen (``add_tool_call``)."""
        lat = turn.latency_ms
        self._store.execute(
            "INSERT INTO turns (tenant_id, call_id, idx, started_at, source, caller_text, reply_text, intent, "
            "interrupted, endpoint_ms, stt_ms, llm_first_token_ms, tts_first_audio_ms, voice_to_voice_ms, "
            "filler_audio_ms, plan) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                tenant_id,
                call_id,
                turn.idx,
                turn.started_at,
                turn.source,
                turn.caller,
                turn.reply,
                turn.intent,
                turn.interrupted,
                lat.endpoint,
                lat.stt,
                lat.llm_first_token,
                lat.tts_first_audio,
                lat.voice_to_voice,
                lat.filler_audio,
                _json(turn.plan),
            ],
        )

    def add_tool_call(self, tenant_id: str, call_id: str | None, turn_idx: int | None, tool: ToolCallRecord) -> None:
        self._store.execute(
            "INSERT INTO tool_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                new_id("tool"),
                tenant_id,
                call_id,
                turn_idx,
                tool.name,
                _json(tool.arguments),
                _json(tool.result),
                tool.ok,
                tool.error,
                tool.latency_ms,
                utcnow(),
            ],
        )

    def finish(self, call: CallRecord) -> None:
        with self._store.transaction():
            self._store.execute(
                "UPDATE calls SET ended_at = ?, duration_s = ?, status = ?, outcome = ?, outcomes = ?, end_reason = ?, "
                "recording = ?, meta = ?, analysis_state = ?, llm_tokens_in = ?, llm_tokens_out = ? WHERE id = ?",
                [
                    call.ended_at,
                    call.duration_s,
                    call.status,
                    call.outcome,
                    call.outcomes or ([call.outcome] if call.outcome else None),
                    call.end_reason,
                    call.meta.get("recording"),
                    _json(call.meta),
                    call.analysis_state,
                    call.llm_tokens_in,
                    call.llm_tokens_out,
                    call.id,
                ],
            )
            self._store.execute(
                "INSERT INTO usage (tenant_id, day, calls, call_seconds) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (tenant_id, day) DO UPDATE SET calls = usage.calls + 1, "
                "call_seconds = usage.call_seconds + excluded.call_seconds",
                [call.tenant_id, call.started_at.date(), call.duration_s or 0.0],
            )

    def get(self, call_id: str, tenant_id: str | None = None) -> CallRecord:
        sql = "SELECT * FROM calls WHERE id = ?" + (" AND tenant_id = ?" if tenant_id else "")
        rows = self._store.dicts(sql, [call_id, tenant_id] if tenant_id else [call_id])
        if not rows:
            raise NotFoundError(f"no call '{call_id}'")
        row = rows[0]
        row.pop("recording", None)
        row["meta"] = msgspec.json.decode(row["meta"]) if row["meta"] else {}
        row["outcomes"] = row["outcomes"] or []
        row["llm_tokens_in"], row["llm_tokens_out"] = row["llm_tokens_in"] or 0, row["llm_tokens_out"] or 0
        row["analysis"] = msgspec.json.decode(row["analysis"]) if row["analysis"] else None
        return msgspec.convert(row, CallRecord)

    def awaiting_analysis(self, limit: int) -> list[tuple[str, str]]:
        """(tenant, call) of ended calls whose analysis has not run yet, oldest first."""
        rows = self._store.rows(
            "SELECT tenant_id, id FROM calls WHERE analysis_state = 'pending' AND status = 'ended' "
            "ORDER BY ended_at LIMIT ?",
            [limit],
        )
        return [(r[0], r[1]) for r in rows]

    def save_analysis(
        self, call_id: str, state: str, analysis: CallAnalysis | None, tokens_in: int = 0, tokens_out: int = 0
    ) -> None:
        """The analysis of a call, or that it could not be made (``state`` "failed"): the call is not tried again.
        The tokens it took are added to the call's."""
        self._store.execute(
            "UPDATE calls SET analysis_state = ?, analysis = ?, llm_tokens_in = coalesce(llm_tokens_in, 0) + ?, "
            "llm_tokens_out = coalesce(llm_tokens_out, 0) + ? WHERE id = ?",
            [state, _json(analysis), tokens_in, tokens_out, call_id],
        )

    def turns(self, call_id: str) -> list[TurnRecord]:
        rows = self._store.dicts("SELECT * FROM turns WHERE call_id = ? ORDER BY idx", [call_id])
        tools = self._store.dicts(
            "SELECT turn_idx, name, arguments, result, ok, error, latency_ms FROM tool_calls "
            "WHERE call_id = ? ORDER BY created_at",
            [call_id],
        )
        turns = []
        for row in rows:
            turns.append(
                TurnRecord(
                    idx=row["idx"],
                    started_at=row["started_at"],
                    source=row["source"],
                    caller=row["caller_text"],
                    reply=row["reply_text"],
                    intent=row["intent"],
                    interrupted=row["interrupted"],
                    latency_ms=Latency(
                        endpoint=row["endpoint_ms"],
                        stt=row["stt_ms"],
                        llm_first_token=row["llm_first_token_ms"],
                        tts_first_audio=row["tts_first_audio_ms"],
                        voice_to_voice=row["voice_to_voice_ms"],
                        filler_audio=row["filler_audio_ms"],
                    ),
                    tool_calls=[
                        ToolCallRecord(
                            name=t["name"],
                            arguments=msgspec.json.decode(t["arguments"]),
                            result=msgspec.json.decode(t["result"]) if t["result"] else None,
                            ok=t["ok"],
                            error=t["error"],
                            latency_ms=t["latency_ms"],
                        )
                        for t in tools
                        if t["turn_idx"] == row["idx"]
                    ],
                    plan=msgspec.json.decode(row["plan"]) if row["plan"] else None,
                )
            )
        return turns
