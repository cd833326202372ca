"""Benchmark of the overdue-reminder sweep (bot/actions/jobs.py) at scale.

    .venv/bin/python bench/sweep.py                       # SQLite and PostgreSQL (a scratch database)
    .venv/bin/python bench/sweep.py --database-url sqlite:////tmp/bench.db
    .venv/bin/python bench/sweep.py --items 100000 --overdue 10000 --owners 2000

Data: `--items` action items on 1,000 milestones, of which `--overdue` are overdue (open, due on the Friday
before the sweep's Monday, so not old enough to escalate) across `--owners` owners; the rest are due later,
done, or snoozed. Every owner's time zone is cached and in working hours at the sweep's moment, so each owner
is due exactly one digest. The fake Slack Web API runs in a child process over HTTP (so its memory is not
counted); Slack calls are counted in this process, on the real WebClient.

Prints, per database:
- select: the sweep's selection of due messages (bot.actions.reminders.select_due);
- select + owe: selection plus recording every message in the outbox (the sweep's batches, one transaction each);
- the first sweep (select, claim, send, mark sent) and the number of Slack calls it made, by method —
  it must equal the number of recipients, not of items;
- a second sweep the same day (what the clock does every 15 minutes afterwards): it must send nothing;
- peak Python memory (tracemalloc) during the first sweep, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from slack_sdk import WebClient
from sqlalchemy import delete, insert
from sqlalchemy.engine import make_url

from bot.actions import jobs as action_reminders
from bot.actions.reminders import select_due
from bot.core import deliveries
from bot.deps import Deps, make_deps
from bot.settings import Settings, normalize_database_url
from bot.slack.client import make_web_client
from bot.slack.jobs import JobContext
from bot.slack.notifier import Notifier
from models import ActionItem, Delivery, DeliveryItem, Milestone, UserProfile, migrate, utcnow

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TOKEN = "xoxb-bench"
MONDAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # noon UTC: working time in all the zones below
ZONES = ("Europe/London", "Europe/Berlin", "UTC", "Africa/Lagos", "Europe/Lisbon")
MILESTONES = 1000


def _fake_slack(conn: Any, owners: int) -> None:
    from tests.fakeslack import FakeSlack

    with FakeSlack(token=TOKEN) as fake:
        fake.add_user("UBOT0", tz="UTC")
        for n in range(owners):  # the fake answers user_not_found for people it does not know, as Slack does
            fake.add_user(f"UO{n:05d}", tz="UTC")
        conn.send(fake.base_url)
        conn.recv()  # until the parent says stop


class CountingClient(WebClient):
    calls: Counter[str]

    def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls[api_method] += 1
        return super().api_call(api_method, **kwargs)


def _client(settings: Settings) -> CountingClient:
    base = make_web_client(settings)
    client = CountingClient(token=base.token, base_url=base.base_url, timeout=base.timeout,
                            retry_handlers=base.retry_handlers)
    client.calls = Counter()
    return client


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


def _select_and_claim(deps: Deps) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    with deps.session() as session:
        due = select_due(session, NOW, deps.settings)
    selected = time.perf_counter() - t0
    claimed = 0
    for start in range(0, len(due), action_reminders.CLAIM_BATCH):
        with deps.session() as session:
            for message in due[start : start + action_reminders.CLAIM_BATCH]:
                if deliveries.owe(session, kind=message.kind, recipient_id=message.recipient_id,
                                  subject=message.subject, local_date=message.local_date, now=NOW, op="post",
                                  target=message.recipient_id, payload={}) is not None:
                    claimed += 1
    total = time.perf_counter() - t0
    with deps.session() as session:  # forget the claims: the sweep below does it for real
        session.execute(delete(DeliveryItem))
        session.execute(delete(Delivery))
    return selected, total, claimed


def _sweep(deps: Deps) -> tuple[float, list[str], Counter[str]]:
    client = _client(deps.settings)
    ctx = JobContext(deps=deps, client=client, notifier=Notifier(client), now=NOW)
    t0 = time.perf_counter()
    lines = action_reminders.run(ctx)
    return time.perf_counter() - t0, lines, client.calls


def bench(url: str, fake_url: str, args: argparse.Namespace) -> None:
    print(f"\n== {make_url(url).get_backend_name()} ({make_url(url).render_as_string(hide_password=True)})")
    migrate.upgrade(url)
    settings = replace(Settings(), database_url=url, slack_api_url=fake_url, slack_bot_token=TOKEN, secret_key="bench",
                       db_lock_timeout_ms=5000)
    deps = make_deps(settings)
    try:
        _fill(deps, args.items, args.overdue, args.owners)
        selected, claimed_in, claimed = _select_and_claim(deps)
        print(f"  select: {selected * 1000:.0f} ms; select + owe {claimed:,} messages: {claimed_in * 1000:.0f} ms")
        tracemalloc.start()
        elapsed, lines, calls = _sweep(deps)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sent = sum(1 for line in lines if line.startswith("sent"))
        recipients = len(lines)
        print(f"  first sweep: {elapsed:.2f} s, {sent:,} messages sent to {recipients:,} recipients "
              f"({args.overdue:,} items); Slack calls: {sum(calls.values()):,} {dict(calls)}")
        print(f"  peak Python memory during the sweep: {peak / 2**20:.1f} MiB")
        elapsed, lines, calls = _sweep(deps)
        print(f"  second sweep the same day: {elapsed * 1000:.0f} ms, {len(lines)} messages, "
              f"Slack calls: {sum(calls.values())}")
        if sum(calls.values()) != 0 or recipients != args.owners or sent != recipients:
            print("  !! unexpected counts")
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
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    fake = multiprocessing.Process(target=_fake_slack, args=(child, args.owners), daemon=True)
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
            bench(normalize_database_url(url), fake_url, args)
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
