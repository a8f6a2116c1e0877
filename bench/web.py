"""Latency and throughput of the staff API with 100k stored calls: the calls list and the dashboard, under a load
generator on loopback at several concurrencies. Prints a table and writes bench/results/web.json.

    python -m bench.web [--calls 100000] [--seconds 8] [--concurrency 1 10 50]

The server runs in its own process (the appliance's app without its models), so the load generator does not
share its interpreter. Calls are spread over the last year and stored in the order they happened, as a box
stores them; the list is the first page (50, newest first), the dashboard is the default 30 days and a whole
year (every call aggregated).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import ROOT, percentile, save_results, wait_healthy
from testkit.ports import free_port

TENANT = "bench-clinic"
TARGETS_MS = {"calls list": 50.0, "dashboard 30 days": 150.0, "dashboard 1 year": 150.0}


def seed(data_dir: Path, calls: int) -> str:
    """Stored calls, bookings and leads for one business (and a few for another); returns an owner API token."""
    from appliance.runtime import Runtime
    from appliance.settings import load_settings
    from core.tenants.document import parse_tenant
    from web.store.tokens import ApiTokens

    runtime = Runtime.open(load_settings(None, {"APPLIANCE_DATA_DIR": str(data_dir)}))
    for tenant, zone in ((TENANT, "Europe/Berlin"), ("other-shop", "America/Chicago")):
        runtime.tenants.save(
            parse_tenant({"id": tenant, "name": tenant, "timezone": zone}), replace=True, actor="bench"
        )
    store = runtime.store
    outcomes = (
        "['question_answered', 'booking_created', 'lead_captured', 'transferred', 'message_taken', "
        "'emergency_escalated']"
    )
    for tenant, count in ((TENANT, calls), ("other-shop", calls // 10)):
        store.execute(
            f"""INSERT INTO calls (id, tenant_id, assistant_id, channel, caller, callee, started_at, ended_at,
                    duration_s, status, outcome, outcomes, end_reason, meta, analysis_state, analysis)
            SELECT printf('call_%s_%08d', ?, i), ?, 'default', 'sip', printf('+4930%07d', (i * 7919) % 10000000),
                   '+493055501', started, started + INTERVAL 1 SECOND * dur, dur, 'ended',
                   {outcomes}[1 + (i % 6)], [{outcomes}[1 + (i % 6)]], 'the caller hung up', '{{"tags": ["bench"]}}',
                   'done', '{{"summary": "The caller wanted to know.", "sentiment": "neutral", '
                   || '"sentiment_confidence": 0.6}}'
            FROM (SELECT i, now()::TIMESTAMP - INTERVAL 1 SECOND * ((i * 104729) % 31536000) AS started,
                         30 + (i * 31) % 400 AS dur FROM range(?) t(i) ORDER BY started)""",
            [tenant, tenant, count],
        )
    store.execute(
        """INSERT INTO bookings (id, tenant_id, call_id, service, starts_at, ends_at, customer_name, customer_phone,
               status, notes, created_at)
           SELECT printf('bk_%08d', i), ?, printf('call_%s_%08d', ?, i * 6 + 1), 'Check-up',
               now()::TIMESTAMP + INTERVAL 1 HOUR * i, now()::TIMESTAMP + INTERVAL 1 HOUR * i + INTERVAL 30 MINUTE,
               'Customer', '+49301234567', 'booked', NULL, now()::TIMESTAMP - INTERVAL 1 MINUTE * i
           FROM range(?) t(i)""",
        [TENANT, TENANT, calls // 6],
    )
    store.execute(
        """INSERT INTO leads (id, tenant_id, call_id, name, phone, reason, urgency, status, created_at)
           SELECT printf('lead_%08d', i), ?, NULL, 'Lead', '+49301234567', 'a quote', 'warm',
               'new', now()::TIMESTAMP - INTERVAL 5 MINUTE * i FROM range(?) t(i)""",
        [TENANT, calls // 20],
    )
    token, _ = ApiTokens(store, runtime.secret_box).create(
        TENANT, name="bench", role="owner", created_by="bench", creator_user=None
    )
    runtime.close()
    return token


def serve(data_dir: Path, port: int) -> None:
    """The server process: the appliance's app on loopback, without loading models."""
    import uvicorn

    from appliance import logs
    from appliance.app import create_app
    from appliance.runtime import Runtime
    from appliance.settings import load_settings

    logs.configure("warning", None)
    runtime = Runtime.open(load_settings(None, {"APPLIANCE_DATA_DIR": str(data_dir)}))
    app = create_app(runtime, "bench-cli-token", load_models=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


async def load(url: str, token: str, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": percentile(latencies, 0.95),
        "rps": round(len(latencies) / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]))
        return

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        began = time.perf_counter()
        token = seed(data_dir, args.calls)
        print(f"seeded {args.calls:,} calls in {time.perf_counter() - began:.1f} s")
        port = free_port(socket.SOCK_STREAM)
        server = subprocess.Popen([sys.executable, "-m", "bench.web", "--serve", str(data_dir), str(port)], cwd=ROOT)
        base = f"http://127.0.0.1:{port}/api/v1/tenants/{TENANT}"
        try:
            wait_healthy(port, server, 60, answers=(200, 503))  # 503: no models loaded, as asked
            today = time.strftime("%Y-%m-%d")
            year_ago = time.strftime("%Y-%m-%d", time.localtime(time.time() - 364 * 86400))
            endpoints = {
                "calls list": f"{base}/calls",
                "dashboard 30 days": f"{base}/dashboard",
                "dashboard 1 year": f"{base}/dashboard?start={year_ago}&end={today}",
            }
            results = []
            for name, url in endpoints.items():
                asyncio.run(load(url, token, 2, 1.0))  # warm the server and DuckDB's caches
                for concurrency in args.concurrency:
                    figures = asyncio.run(load(url, token, concurrency, args.seconds))
                    results.append({"endpoint": name, "concurrency": concurrency, **figures})
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(
        f"\n{'endpoint':<20}{'clients':>8}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>8}"
        "  target p95"
    )
    for r in results:
        target = TARGETS_MS[str(r["endpoint"])]
        mark = "ok" if r["p95_ms"] <= target else "over"
        print(
            f"{r['endpoint']:<20}{r['concurrency']:>8}{r['requests']:>10}{r['errors']:>8}{r['p50_ms']:>9}"
            f"{r['p95_ms']:>9}{r['rps']:>8}  {target:.0f} ms {mark}"
        )
    save_results("web", {"calls": args.calls, "seconds": args.seconds, "results": results})


if __name__ == "__main__":
    main()
