"""sipp as a caller: scenarios written for each test, run to completion, with their timings."""

from __future__ import annotations

import csv
import subprocess
from dataclasses import dataclass
from pathlib import Path

from testkit.ports import free_media_port, free_port

_HEADERS = """Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "{caller_name}" <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>{to_tag}
Call-ID: [call_id]
Contact: <sip:caller@[local_ip]:[local_port]>
Max-Forwards: 70"""

_INVITE = """  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{headers}
CSeq: 1 INVITE
Content-Type: application/sdp
Content-Length: [len]

v=0
o=- 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
"""

_IN_DIALOG = """  <send{retrans}>
    <![CDATA[
{method} [next_url] SIP/2.0
[routes]
{headers}
CSeq: {cseq} {cseq_method}
{extra}Content-Length: [len]
{body}
    ]]>
  </send>
"""


_BYE_OK = """  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
    ]]>
  </send>
"""


@dataclass(frozen=True, slots=True)
class Dtmf:
    after_ms: int  # pause before the key
    digit: str
    method: str = "rfc4733"  # or "info"


def _headers(caller: str, to_tag: bool) -> str:
    return _HEADERS.format(caller_name="Test caller", caller=caller, to_tag="[peer_tag_param]" if to_tag else "")


def _in_dialog(method: str, cseq: int, caller: str, extra: str = "", body: str = "", retrans: bool = True) -> str:
    return _IN_DIALOG.format(
        method=method,
        retrans=' retrans="500"' if retrans else "",
        headers=_headers(caller, True),
        cseq=cseq,
        cseq_method=method,
        extra=extra,
        body=f"\n{body}" if body else "",
    )


def call_scenario(
    *,
    caller: str = "+15551230000",
    audio: Path | None = None,
    audio_after_ms: int = 0,
    dtmf: list[Dtmf] | None = None,
    refuse_refer: bool = False,
    hold_ms: int = 3000,
    far_end_hangs_up: bool = False,
) -> str:
    """INVITE, 200, ACK; then the audio (a raw mu-law file), keys, a wait, and BYE (unless the far end hangs up
    first, which ends the scenario as well). With ``far_end_hangs_up`` the far end must send the BYE within
    ``hold_ms``. With ``refuse_refer`` a REFER must come, and is answered 405 Method Not Allowed."""
    steps = _answered(caller)
    if audio is not None:
        steps += _stream(audio, audio_after_ms)
    cseq = 2
    for key in dtmf or []:
        steps.append(f'  <pause milliseconds="{key.after_ms}"/>\n')
        if key.method == "info":
            steps.append(
                _in_dialog(
                    "INFO",
                    cseq,
                    caller,
                    extra="Content-Type: application/dtmf-relay\n",
                    body=f"Signal={key.digit}\r\nDuration=160\r\n",
                    retrans=False,  # a late 200 and a retransmission's 200 would both arrive
                )
            )
            steps.append('  <recv response="200"/>\n')
            cseq += 1
        else:
            name = {"*": "star", "#": "pound"}.get(key.digit, key.digit)
            pcap = f"/usr/share/sip-tester/dtmf_2833_{name}.pcap"
            steps.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n')
    if refuse_refer:
        steps.append('  <recv request="REFER" timeout="120000"/>\n')
        steps.append(_BYE_OK.replace("200 OK", "405 Method Not Allowed"))
    if far_end_hangs_up:
        steps.append(f'  <recv request="BYE" timeout="{hold_ms}"/>\n')
        steps.append(_BYE_OK)
        return _scenario(steps)
    return _scenario(steps + _hang_up(caller, cseq, hold_ms))


def _answered(caller: str) -> list[str]:
    """INVITE, 200 (its Record-Route kept for the dialog's requests), ACK."""
    steps = [_INVITE.format(headers=_headers(caller, False))]
    steps.append('  <recv response="200" rtd="true" rrs="true"/>\n')
    steps.append(_in_dialog("ACK", 1, caller, retrans=False))
    return steps


def _stream(audio: Path, after_ms: int) -> list[str]:
    pause = [f'  <pause milliseconds="{after_ms}"/>\n'] if after_ms else []
    return [*pause, f'  <nop><action><exec rtp_stream="{audio},1,0"/></action></nop>\n']


def _hang_up(caller: str, cseq: int, hold_ms: int) -> list[str]:
    """Wait ``hold_ms`` for the far end's BYE (and answer it), else send one."""
    return [
        f'  <recv request="BYE" timeout="{hold_ms}" ontimeout="hangup"/>\n',
        _BYE_OK,
        '  <nop next="end"/>\n  <label id="hangup"/>\n',
        _in_dialog("BYE", cseq, caller),
        '  <recv response="200"/>\n',
        '  <label id="end"/>\n',
    ]


def declined_refer_scenario(
    targets: list[str], *, caller: str = "+15551230000", audio: Path | None = None, hold_ms: int = 3000
) -> str:
    """A caller who asks the box to dial elsewhere: after the call is up, a REFER to each of ``targets`` (through
    the trunk, along the dialog's route), each of which must be declined with 603 (a 202 fails the scenario);
    then the audio (a raw mu-law file) and a wait of ``hold_ms`` before the caller hangs up."""
    steps = _answered(caller)
    cseq = 2
    for target in targets:
        refer_to = f"Refer-To: <{target}>\nReferred-By: <sip:{caller}@[local_ip]:[local_port]>\n"
        steps.append(_in_dialog("REFER", cseq, caller, extra=refer_to))
        steps.append('  <recv response="603"/>\n')
        cseq += 1
    if audio is not None:
        steps += _stream(audio, 0)
    return _scenario(steps + _hang_up(caller, cseq, hold_ms))


def challenged_bye_scenario(realm: str, *, caller: str = "+15551230000", hold_ms: int = 60000) -> str:
    """A caller who answers the box's BYE with 407 Proxy Authentication Required under ``realm``, hoping for a
    digest of the trunk's password; then listens for 3 s more. A second BYE (with credentials or not)
    arriving in that time is unexpected, and fails the scenario."""
    steps = _answered(caller)
    steps.append(f'  <recv request="BYE" timeout="{hold_ms}"/>\n')
    challenge = f'Proxy-Authenticate: Digest realm="{realm}", nonce="[call_id]", algorithm=MD5\n'
    steps.append(
        _BYE_OK.replace("200 OK", "407 Proxy Authentication Required").replace(
            "Content-Length", challenge + "Content-Length"
        )
    )
    steps.append('  <pause milliseconds="3000"/>\n')
    return _scenario(steps)


def refused_scenario(code: int, caller: str = "+15551230000", extra: str = "") -> str:
    """An INVITE (with the ``extra`` header lines) that must be answered with ``code`` (then ACKed)."""
    headers = _headers(caller, False) + (f"\n{extra.rstrip()}" if extra else "")
    steps = [_INVITE.format(headers=headers)]
    steps.append(f'  <recv response="{code}" rtd="true"/>\n')
    steps.append(
        _in_dialog("ACK", 1, caller, retrans=False).replace(
            "ACK [next_url]", "ACK sip:[service]@[remote_ip]:[remote_port]"
        )
    )
    return _scenario(steps)


def raw_scenario(messages: list[str], pause_ms: int = 300) -> str:
    """Messages sent as written (sipp fills in its [keywords]), expecting nothing back."""
    steps = []
    for message in messages:
        steps.append(f"  <send>\n    <![CDATA[\n{message}\n    ]]>\n  </send>\n")
        steps.append(f'  <pause milliseconds="{pause_ms}"/>\n')
    return _scenario(steps)


def _scenario(steps: list[str]) -> str:
    return '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="test">\n' + "".join(steps) + "</scenario>\n"


@dataclass(frozen=True, slots=True)
class SippResult:
    returncode: int
    output: str
    response_times_ms: list[float]

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_sipp(
    scenario: str,
    *,
    service: str,
    target: str,
    folder: Path,
    calls: int = 1,
    timeout_s: float = 120,
    name: str = "scenario",
    media_port: int | None = None,
    local_ip: str = "127.0.0.1",
    rate: int | None = None,
) -> SippResult:
    """Run ``scenario`` against ``target`` (host:port) dialling ``service`` from ``local_ip``; waits until sipp
    ends. ``calls`` are placed at ``rate`` a second (default: all in the first second)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.xml"
    path.write_text(scenario)
    command = [
        "sipp",
        "-sf",
        str(path),
        "-s",
        service,
        target,
        "-i",
        local_ip,
        "-p",
        str(free_port()),
        "-mi",
        local_ip,
        "-mp",
        str(media_port or free_media_port()),
        "-m",
        str(calls),
        "-l",
        str(calls),
        "-r",
        str(rate or calls),
        "-trace_rtt",
        "-rtt_freq",
        "1",
        "-trace_err",
        "-trace_msg",
        "-nostdin",
        "-timeout",
        f"{int(timeout_s)}s",
        "-timeout_error",
    ]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout_s + 30)
    times = []
    for rtt in folder.glob(f"{name}_*_rtt.csv"):
        with rtt.open() as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                value = row.get("response_time_ms") or row.get("response_time1")
                if value:
                    times.append(float(value))
        rtt.unlink()
    errors = "".join(p.read_text(errors="replace") for p in folder.glob(f"{name}_*_errors.log"))
    return SippResult(done.returncode, done.stdout[-4000:] + done.stderr[-2000:] + errors[-4000:], times)
