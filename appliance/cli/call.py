"""``appliance call simulate``: one call from recordings or typed lines, through the real call loop."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import msgspec

from appliance.cli.context import CliContext
from core.errors import InputError

# The simulation's types live with the call loop (audio, the models' interfaces), which `call list` and `--help`
# have no use for: only the command that runs a call imports them.
if TYPE_CHECKING:
    from core.calls.simulate import SimulationReport, SimulationTurnInput


class _OrderedTurns(click.Command):
    """Keeps ``--audio``, ``--say`` and ``--dtmf`` in the order they were given: they are the caller's turns."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        order, expect = [], None
        for arg in args:
            if expect is not None:
                order.append((expect, arg))
                expect = None
            elif arg in ("--audio", "--say", "--dtmf"):
                expect = arg[2:]
            elif arg.startswith(("--audio=", "--say=", "--dtmf=")):
                name, _, value = arg[2:].partition("=")
                order.append((name, value))
        ctx.meta["turn_order"] = order
        return super().parse_args(ctx, args)


@click.group()
def call() -> None:
    """Calls: simulate one, list the latest."""


@call.command("list")
@click.option("--tenant", required=True, help="Tenant id (see: appliance tenant list).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500), help="How many.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: {calls, next_before}.")
@click.pass_obj
def list_calls(obj: CliContext, tenant: str, limit: int, as_json: bool) -> None:
    """The business's latest calls, newest first, with their phone-line details (SIP Call-ID, codec, hangup,
    transfer)."""
    backend = obj.backend()
    try:
        page = backend.list_calls(tenant, limit)
    finally:
        backend.close()
    if as_json:
        click.echo(msgspec.json.encode(page).decode())
        return
    for row in page.calls:
        seconds = f"{row.duration_s:.0f} s" if row.duration_s is not None else "live"
        click.echo(
            f"{row.started_at:%Y-%m-%d %H:%M:%S}  {row.id}  {row.channel}  {row.caller or '?'} -> "
            f"{row.callee or '?'}  {seconds}  {', '.join(row.outcomes) or row.outcome or row.status}"
        )
        if row.summary:
            click.echo(f"    {row.summary} ({row.sentiment})")
        details = [f"ended: {row.end_reason}"] if row.end_reason else []
        sip = row.sip
        details += [
            f"{label} {sip[key]}"
            for label, key in (("call-id", "call_id"), ("codec", "codec"), ("hangup", "hangup_cause"))
            if sip.get(key)
        ]
        transfer = sip.get("transfer") or {}
        if transfer.get("target"):
            details.append(f"transfer to {transfer['target']}: {transfer.get('result', transfer.get('status', ''))}")
        if details:
            click.echo("    " + "; ".join(details))


@call.command("simulate", cls=_OrderedTurns)
@click.option("--tenant", required=True, help="Tenant id (see: appliance tenant list).")
@click.option("--audio", multiple=True, type=click.Path(path_type=Path), help="A WAV of one caller turn.")
@click.option("--say", multiple=True, help="A typed caller turn (skips VAD and STT).")
@click.option("--dtmf", multiple=True, help="A key the caller presses (0-9, *, #).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the reply audio here.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--realtime/--fast", default=False, help="Pace audio at wall-clock speed (default: --fast).")
@click.option("--rate", type=click.Choice(["8000", "16000"]), default="8000", help="Line sample rate.")
@click.pass_context
def simulate(
    ctx: click.Context,
    tenant: str,
    audio: tuple[Path, ...],
    say: tuple[str, ...],
    dtmf: tuple[str, ...],
    out: Path | None,
    as_json: bool,
    realtime: bool,
    rate: str,
) -> None:
    """Run one call: the assistant greets, then each --audio, --say or --dtmf is a caller turn, in order."""
    order = ctx.meta.get("turn_order") or (
        [("audio", str(a)) for a in audio] + [("say", s) for s in say] + [("dtmf", d) for d in dtmf]
    )
    if not order:
        raise click.UsageError("give at least one --audio FILE, --say TEXT or --dtmf KEY")
    from core.calls.simulate import SimulationRequest

    turns = [_turn(kind, value) for kind, value in order]
    request = SimulationRequest(tenant=tenant, turns=turns, realtime=realtime, rate=int(rate))  # type: ignore[arg-type]
    obj: CliContext = ctx.obj
    backend = obj.backend()
    try:
        report = backend.simulate(request)
    finally:
        backend.close()
    if out is not None and report.reply_wav_base64:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(report.reply_wav_base64))
    if as_json:
        body: dict[str, Any] = msgspec.to_builtins(report)
        body.pop("reply_wav_base64", None)
        click.echo(msgspec.json.encode(body).decode())
        return
    _print(report, out)


def _turn(kind: str, value: str) -> SimulationTurnInput:
    from core.calls.simulate import SimulationTurnInput

    if kind == "say":
        return SimulationTurnInput(text=value)
    if kind == "dtmf":
        return SimulationTurnInput(dtmf=value)
    path = Path(value)
    if not path.is_file():
        raise InputError(f"audio file {path} does not exist")
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InputError(f"{path} is not a WAV file")
    return SimulationTurnInput(wav_base64=base64.b64encode(data).decode())


def _print(report: SimulationReport, out: Path | None) -> None:
    click.echo(f"call {report.call_id}  tenant {report.tenant}  outcome {report.outcome}")
    for turn in report.turns:
        if turn.caller is not None:
            click.echo(f"  caller:    {turn.caller}")
        click.echo(f"  assistant: {turn.reply}")
        lat = turn.latency_ms
        parts = [
            f"{name} {value:.0f} ms"
            for name, value in (
                ("endpoint", lat.endpoint),
                ("stt", lat.stt),
                ("llm first token", lat.llm_first_token),
                ("tts first audio", lat.tts_first_audio),
                ("voice-to-voice", lat.voice_to_voice),
            )
            if value is not None
        ]
        if parts and turn.caller is not None:
            click.echo("             " + " · ".join(parts))
    if out is not None:
        click.echo(f"reply audio written to {out}")
