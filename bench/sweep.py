"""Benchmark of the overdue-reminder sweep at scale: how fast Slack's limits let digests go out.

    .venv/bin/python bench/sweep.py                                   # SQLite and PostgreSQL, defaults below
    .venv/bin/python bench/sweep.py --owners 10000 --overdue 10000 --items 100000 --slack-latency-ms 100
    .venv/bin/python bench/sweep.py --database-url postgresql://postgres@127.0.0.1:5432/test --processes 2
    .venv/bin/python bench/sweep.py --rate-limit 1,600                 # 1 s per conversation, 600/min workspace

Data: `--items` action items on 1,000 milestones, of which `--overdue` are overdue (open, due on the Friday
before the sweep's Monday, so not old enough to escalate) across `--owners` owners; the rest are due later,
done, or snoozed. Every owner's time zone is cached and in working hours at the sweep's moment, so each owner
is due exactly one digest. The fake Slack Web API runs in a child process over HTTP, answers every call after
`--slack-latency-ms`, and with `--rate-limit P,W` answers 429 with Retry-After past one post per P seconds
per conversation or W posts a minute in the workspace, as Slack does.

The sweep is the real one: `--processes 1` runs it in this process (bot.clock.sweep: the outbox pass, then the
action reminders); `--processes 2` starts two `milestone-bot remind` processes at once, as two overlapping
clocks would. Prints, per database: select, select + claim (recording every message in the outbox, then
forgetting it), the first sweep's wall time, Slack calls by method, 429s, duplicates (must be 0) and messages
per second against the configured limit, a second sweep the same day (must make 0 Slack calls), and one line:
`sweep: <db> <N> messages, <S> s, <R> msg/s, <D> duplicates`. Each phase also prints its CPU time (user + sys
of the bot's process or processes; the fake Slack's separately; the database server's not at all) and the
sweep the machine's load average, so wall times measured on a busy machine can be judged.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import delete, insert
from sqlalchemy.engine import make_url

from bot.actions.reminders import select_due
from bot.clock import sweep
from bot.core import deliveries
from bot.deps import Deps, make_deps
from bot.settings import Settings, normalize_database_url
from models import ActionItem, Delivery, DeliveryItem, Milestone, UserProfile, migrate, utcnow

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TOKEN = "xoxb-bench"
MONDAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # noon UTC: working time in all the zones below
ZONES = ("Europe/London", "Europe/Berlin", "UTC", "Africa/Lagos", "Europe/Lisbon")
MILESTONES = 1000
CLAIM_BATCH = 1000
ROOT = Path(__file__).resolve().parent.parent


def _fake_slack(conn: Any, owners: int, latency_ms: float, rate_limit: tuple[float, int] | None) -> None:
    """The fake Slack in its own process; answers "stats" with what it saw, until the parent says "stop"."""
    from tests.fakeslack import FakeSlack

    with FakeSlack(token=TOKEN) as fake:
        fake.add_user("UBOT0", tz="UTC")
        for n in range(owners):  # the fake answers user_not_found for people it does not know, as Slack does
            fake.add_user(f"UO{n:05d}", tz="UTC")
        conn.send(fake.base_url)
        cpu_at_reset = _cpu(resource.RUSAGE_SELF)
        while True:
            command = conn.recv()
            if command == "stop":
                return
            if command == "reset":
                cpu_at_reset = _cpu(resource.RUSAGE_SELF)
                fake.reset()
                fake.latency_ms = latency_ms
                if rate_limit:
                    fake.rate_limit_per_channel = rate_limit[0]
                    fake.set_rate_limit("chat.postMessage", calls=rate_limit[1], per=60.0)
                conn.send("ok")
                continue
            calls = list(fake.calls)
            by_method = Counter(c.method for c in calls)
            limited = sum(1 for c in calls if c.response.get("error") == "ratelimited")
            delivered = Counter(c.response.get("channel") for c in calls
                                if c.method == "chat.postMessage" and c.response.get("ok"))
            conn.send((dict(by_method), limited, sum(delivered.values()), sum(n - 1 for n in delivered.values()),
                       _cpu(resource.RUSAGE_SELF) - cpu_at_reset))


def _cpu(who: int) -> float:
    """User + system CPU seconds of this process (all its threads) or of its waited-for children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _fill(deps: Deps, items: int, overdue: int, owners: int) -> None:
    """Bulk rows: milestones, cached profiles, and the action items."""
    t0 = time.perf_counter()
    owner_ids = [f"UO{n:05d}" for n in range(owners)]
    others = [f"UX{n:05d}" for n in range(5000)]
    leads = [f"UM{n:04d}" for n in range(MILESTONES)]
    fetched = utcnow()
    with deps.session() as session:
        session.execute(insert(Milestone), [
            {"team_id": "T0001", "key": f"M-{n + 1:04d}", "name": f"Milestone {n + 1}", "owner_id": leads[n],
             "created_by": leads[n], "version": "alpha", "status": "in_progress", "revision": 1}
            for n in range(MILESTONES)
        ])
        session.execute(insert(UserProfile), [
            {"user_id": u, "team_id": "T0001", "tz": ZONES[i % len(ZONES)], "tz_offset": 0, "fetched_at": fetched,
             "is_admin": False, "deleted": False}
            for i, u in enumerate(owner_ids + others + leads)
        ])
    rows: list[dict[str, Any]] = []
    friday = MONDAY - timedelta(days=3)
    for n in range(items):
        row: dict[str, Any] = {"milestone_id": n % MILESTONES + 1, "horizon": "week1", "description": f"Item {n}",
                               "created_by": "UM0000", "status": "open", "snoozed_until": None}
        if n < overdue:
            row.update(owner_id=owner_ids[n % owners], due_date=friday)
        else:
            kind = n % 9
            row["owner_id"] = others[n % len(others)] if kind % 2 else owner_ids[n % owners]
            if kind < 5:
                row["due_date"] = MONDAY + timedelta(days=1 + n % 60)  # due later
            elif kind < 8:
                row.update(due_date=friday - timedelta(days=n % 30), status="done")
            else:
                row.update(due_date=friday, snoozed_until=MONDAY + timedelta(days=3))
        rows.append(row)
    for start in range(0, len(rows), 10_000):
        with deps.session() as session:
            session.execute(insert(ActionItem), rows[start : start + 10_000])
    print(f"  data: {items:,} items ({overdue:,} overdue, {owners:,} owners), {MILESTONES:,} milestones "
          f"in {time.perf_counter() - t0:.1f} s")


def _select_and_claim(deps: Deps) -> tuple[float, float, int, float, float]:
    """The sweep's selection, then recording every message in the outbox in batches (one statement each);
    wall and CPU seconds of this process for the selection and for both."""
    t0, cpu0 = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    with deps.read() as session:
        due = select_due(session, NOW, deps.settings)
    selected, selected_cpu = time.perf_counter() - t0, _cpu(resource.RUSAGE_SELF) - cpu0
    claimed = 0
    for start in range(0, len(due), CLAIM_BATCH):
        batch = [deliveries.Owed(kind=m.kind, recipient_id=m.recipient_id, subject=m.subject,
                                 local_date=m.local_date, target=m.recipient_id, payload={"item_ids": m.item_ids})
                 for m in due[start : start + CLAIM_BATCH]]
        with deps.session() as session:
            claimed += len(deliveries.owe_many(session, batch, NOW))
    total, total_cpu = time.perf_counter() - t0, _cpu(resource.RUSAGE_SELF) - cpu0
    with deps.session() as session:  # forget them: the sweep below does it for real
        session.execute(delete(DeliveryItem))
        session.execute(delete(Delivery))
    return selected, total, claimed, selected_cpu, total_cpu


def _sweep(deps: Deps, url: str, fake_url: str, processes: int) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the sending process(es) (this one, or the `remind` children)."""
    t0, cpu0 = time.perf_counter(), _cpu(resource.RUSAGE_SELF if processes == 1 else resource.RUSAGE_CHILDREN)
    if processes == 1:
        sweep(deps, NOW)
    else:
        env = {**os.environ, "DATABASE_URL": url, "SLACK_API_URL": fake_url, "SLACK_BOT_TOKEN": TOKEN,
               "SLACK_SIGNING_SECRET": "bench", "LOG_LEVEL": "WARNING", "DB_LOCK_TIMEOUT_MS": "5000"}
        command = [sys.executable, "-m", "bot.cli", "remind", "--now", NOW.isoformat()]
        runs = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL) for _ in range(processes)]
        for run in runs:
            run.wait()
    who = resource.RUSAGE_SELF if processes == 1 else resource.RUSAGE_CHILDREN
    return time.perf_counter() - t0, _cpu(who) - cpu0


def _stats(fake: Any) -> tuple[dict[str, int], int, int, int, float]:
    fake.send("stats")
    return fake.recv()  # type: ignore[no-any-return]


def bench(url: str, fake: Any, fake_url: str, args: argparse.Namespace) -> None:
    backend = make_url(url).get_backend_name()
    print(f"\n== {backend} ({make_url(url).render_as_string(hide_password=True)}), {args.processes} process(es), "
          f"Slack at {args.slack_latency_ms:g} ms a call, SEND_CONCURRENCY={args.concurrency}")
    migrate.upgrade(url)
    settings = replace(Settings(), database_url=url, slack_api_url=fake_url, slack_bot_token=TOKEN,
                       secret_key="bench", db_lock_timeout_ms=5000, send_concurrency=args.concurrency)
    os.environ["SEND_CONCURRENCY"] = str(args.concurrency)
    deps = make_deps(settings)
    try:
        _fill(deps, args.items, args.overdue, args.owners)
        selected, claimed_in, claimed, selected_cpu, claimed_cpu = _select_and_claim(deps)
        print(f"  select: {selected * 1000:.0f} ms (CPU {selected_cpu * 1000:.0f} ms); select + claim {claimed:,} "
              f"messages: {claimed_in * 1000:.0f} ms (CPU {claimed_cpu * 1000:.0f} ms)")
        fake.send("reset")
        fake.recv()
        elapsed, cpu = _sweep(deps, url, fake_url, args.processes)
        calls, limited, delivered, duplicates, fake_cpu = _stats(fake)
        rate = delivered / elapsed if elapsed else 0.0
        limit = f" (limit {args.rate_limit})" if args.rate_limit else " (no rate limit)"
        print(f"  first sweep: {elapsed:.1f} s, {delivered:,} messages to {args.owners:,} owners, "
              f"{rate:.1f} msg/s{limit}; 429s: {limited}; duplicates: {duplicates}")
        print(f"  first sweep CPU (user+sys): bot {cpu:.1f} s ({cpu / max(delivered, 1) * 1000:.1f} ms a message), "
              f"fake Slack {fake_cpu:.1f} s")
        print(f"  Slack calls by method: {calls}; load average {os.getloadavg()[0]:.1f}")
        fake.send("reset")
        fake.recv()
        second, second_cpu = _sweep(deps, url, fake_url, 1)
        calls2, *_rest = _stats(fake)
        print(f"  second sweep the same day: {second * 1000:.0f} ms (CPU {second_cpu * 1000:.0f} ms), "
              f"Slack calls: {sum(calls2.values())}")
        if delivered != args.owners or duplicates or sum(calls2.values()):
            print("  !! unexpected counts")
        print(f"sweep: {backend} {delivered} messages, {elapsed:.1f} s, {rate:.1f} msg/s, {duplicates} duplicates")
    finally:
        deps.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", action="append",
                        help="a database to run on (repeatable); default: SQLite in a temp dir and a scratch "
                             f"PostgreSQL database next to {DEFAULT_PG}")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--overdue", type=int, default=10_000)
    parser.add_argument("--owners", type=int, default=2_000)
    parser.add_argument("--slack-latency-ms", type=float, default=100.0, help="the fake Slack's time per call")
    parser.add_argument("--rate-limit", help="P,W: one post per P seconds per conversation, W posts a minute")
    parser.add_argument("--processes", type=int, choices=[1, 2], default=1, help="sending processes")
    parser.add_argument("--concurrency", type=int, default=8, help="SEND_CONCURRENCY of each process")
    args = parser.parse_args()
    rate_limit = None
    if args.rate_limit:
        per_conversation, per_minute = args.rate_limit.split(",")
        rate_limit = (float(per_conversation), int(per_minute))

    parent, child = multiprocessing.Pipe()
    fake = multiprocessing.Process(target=_fake_slack, args=(child, args.owners, args.slack_latency_ms, rate_limit),
                                   daemon=True)
    fake.start()
    fake_url = parent.recv()
    scratch: list[tuple[str, str]] = []
    try:
        urls = args.database_url
        if not urls:
            tmp = tempfile.mkdtemp(prefix="mb-bench-")
            urls = [f"sqlite:///{tmp}/bench.db"]
            base = make_url(normalize_database_url(DEFAULT_PG))
            name = f"mb_bench_{uuid.uuid4().hex[:8]}"
            admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            scratch.append((admin, name))
            urls.append(base.set(database=name).render_as_string(hide_password=False))
        for url in urls:
            bench(normalize_database_url(url), parent, fake_url, args)
    finally:
        for admin, name in scratch:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        parent.send("stop")
        fake.join(5)
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
