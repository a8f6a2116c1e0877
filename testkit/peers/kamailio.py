"""Kamailio as the SIP trunk: a registrar with digest auth, the carrier delivering calls for DIDs to whichever
account they belong to, and a "human" extension (another SIP peer) that transfers reach.

DIDs are delivered the two ways carriers do: as the Request-URI user (``ruri_dids``), or only in the To header
with the Request-URI naming the registered contact (``to_dids``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from testkit.ports import udp_bound

_CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
alias="127.0.0.1:{port}"

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "auth.so"
loadmodule "htable.so"

modparam("htable", "htable", "users=>size=4;")
modparam("htable", "htable", "dids=>size=4;")
modparam("htable", "htable", "to_dids=>size=4;")
modparam("htable", "htable", "humans=>size=4;")
modparam("registrar", "min_expires", 2)
modparam("registrar", "default_expires", 60)
modparam("rr", "append_fromtag", 1)

event_route[htable:mod-init] {{
{tables}
}}

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (!sanity_check("1511", "7")) {{ xlog("L_WARN", "malformed request from $si:$sp\\n"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (is_method("REGISTER")) {{
        if ($sht(users=>$fU) == $null) {{ sl_send_reply("403", "Unknown user"); exit; }}
        if (!pv_www_authenticate("$td", "$sht(users=>$fU)", "0")) {{ www_challenge("$td", "0"); exit; }}
        save("location");
        exit;
    }}
    if (is_method("INVITE")) {{ record_route(); }}
    if ($sht(humans=>$rU) != $null) {{
        $ru = $sht(humans=>$rU);
        t_relay();
        exit;
    }}
    if ($sht(dids=>$rU) != $null) {{
        $var(did) = $rU;
        $var(aor) = "sip:" + $sht(dids=>$rU) + "@127.0.0.1:{port}";
        if (!lookup("location", "$var(aor)")) {{ sl_send_reply("480", "Trunk not registered"); exit; }}
        $rU = $var(did);
        t_relay();
        exit;
    }}
    if ($sht(to_dids=>$rU) != $null) {{
        $var(aor) = "sip:" + $sht(to_dids=>$rU) + "@127.0.0.1:{port}";
        if (!lookup("location", "$var(aor)")) {{ sl_send_reply("480", "Trunk not registered"); exit; }}
        t_relay();
        exit;
    }}
    sl_send_reply("404", "No such number");
}}
"""


@dataclass
class Kamailio:
    folder: Path
    port: int
    users: dict[str, str]  # trunk account -> password
    ruri_dids: dict[str, str] = field(default_factory=dict)  # DID -> trunk account
    to_dids: dict[str, str] = field(default_factory=dict)
    humans: dict[str, str] = field(default_factory=dict)  # number -> "sip:user@127.0.0.1:PORT"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tables = [f'    $sht(users=>{u}) = "{p}";' for u, p in self.users.items()]
        tables += [f'    $sht(dids=>{d}) = "{u}";' for d, u in self.ruri_dids.items()]
        tables += [f'    $sht(to_dids=>{d}) = "{u}";' for d, u in self.to_dids.items()]
        tables += [f'    $sht(humans=>{n}) = "{a}";' for n, a in self.humans.items()]
        config = self.folder / "kamailio.cfg"
        config.write_text(_CONFIG.format(port=self.port, tables="\n".join(tables)))
        log = (self.folder / "kamailio.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "kamailio",
                "-DD",
                "-E",
                "-f",
                str(config),
                "-Y",
                str(self.folder),
                "-P",
                str(self.folder / "kamailio.pid"),
                "-m",
                "64",
                "-M",
                "8",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not udp_bound(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kamailio did not start; see {self.folder / 'kamailio.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop kamailio by its PID (its children follow it)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        deadline = time.monotonic() + 10
        while udp_bound(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.proc = None
