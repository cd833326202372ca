"""Benchmark: compiling and rendering one big milestone's report.

    .venv/bin/python bench/report.py                 # SQLite (a temporary file)
    .venv/bin/python bench/report.py --postgres postgresql://postgres@127.0.0.1:5432/postgres

Builds the demo milestone twice: as it is, and grown to 1,000 action items (half of them with reminder
history), 200 deliverables, 100 risks and 500 feedback answers. For each it prints the SQL statements that
load_report issues (the number must be the same for both sizes), the time to load, and the time to render
Markdown and HTML (best of --repeat runs), the PDF (WeasyPrint, best of --pdf-repeat runs, with its page
count) and the output sizes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot.demo import create_demo
from bot.reports.pdf import render_pdf
from bot.reports.rendering import render_html, render_markdown
from bot.reports.service import load_report
from bot.settings import normalize_database_url
from models import (
    ActionItem,
    Base,
    Deliverable,
    Delivery,
    DeliveryItem,
    FeedbackResponse,
    Risk,
    UserProfile,
)
from models.db import make_engine
from tests.harness import counting

TODAY = date(2025, 4, 1)
NOW = datetime(2025, 4, 1, 12, tzinfo=UTC)
BIG = {"actions": 1000, "deliverables": 200, "risks": 100, "feedback": 500}


def grow(session: Session, milestone_id: int, *, actions: int, deliverables: int, risks: int, feedback: int) -> None:
    horizons = ["week1", "month1", "quarter", "tech_debt", "condition"]
    owners = [f"UBENCH{i:03d}" for i in range(50)]
    session.add_all(UserProfile(user_id=o, real_name=f"Owner {o[-3:]}", tz="UTC", fetched_at=NOW) for o in owners)
    items = [ActionItem(milestone_id=milestone_id, horizon=horizons[i % 5], description=f"Action item {i} | details",
                        owner_id=owners[i % 50], due_date=TODAY + timedelta(days=i % 40 - 20), created_by=owners[0],
                        priority="medium", effort_days=Decimal(2), planned_sprint=f"Sprint {i % 9}")
             for i in range(actions)]
    session.add_all(items)
    session.add_all(Deliverable(milestone_id=milestone_id, kind=["completed", "deferred", "additional"][i % 3],
                                name=f"Deliverable {i}", description="A description\nover two lines",
                                status="complete", position=100 + i) for i in range(deliverables))
    session.add_all(Risk(milestone_id=milestone_id, kind=["realized", "mitigated", "new"][i % 3], risk=f"Risk {i}",
                         probability="low", impact="high", management="Plan", position=100 + i) for i in range(risks))
    session.add_all(FeedbackResponse(milestone_id=milestone_id, respondent_hash=f"bench-{i}", satisfaction=1 + i % 5,
                                     nps=i % 11, group=["acceptance_tester", "beta_user", "business"][i % 3],
                                     accepts=bool(i % 4) if i % 3 == 0 else None, themes=["positive"],
                                     comment=f"Comment {i}") for i in range(feedback))
    session.flush()
    # Reminder history: one digest per owner per day for 10 days, naming that owner's open items.
    for day in range(10):
        for owner in owners:
            delivery = Delivery(kind="action_digest", recipient_id=owner, subject=f"bench:{milestone_id}",
                                local_date=TODAY - timedelta(days=day), status="sent", lease_until=NOW, sent_at=NOW)
            session.add(delivery)
            session.flush()
            session.add_all(DeliveryItem(delivery_id=delivery.id, action_item_id=item.id)
                            for item in items[: actions // 2] if item.owner_id == owner)
    session.flush()



def best(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def pdf_pages(pdf: bytes) -> str:
    """Pages in a PDF, by poppler's pdfinfo ("?" without it)."""
    if not shutil.which("pdfinfo"):
        return "?"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True).stdout
    found = re.search(r"^Pages:\s+(\d+)", info, re.M)
    return found.group(1) if found else "?"


def measure(engine: Engine, label: str, sizes: dict[str, int] | None, repeat: int, pdf_repeat: int) -> None:
    with Session(engine) as session, session.begin():
        milestone = create_demo(session, TODAY, team_id=f"TBENCH{label}")
        if sizes:
            grow(session, milestone.id, **sizes)
        milestone_id = milestone.id
    with Session(engine) as session, session.begin():
        with counting(engine) as statements:
            report = load_report(session, milestone_id, now=NOW)
        count = len(statements)
        load_s, report = best(repeat, lambda: load_report(session, milestone_id, now=NOW))
    md_s, markdown = best(repeat, lambda: render_markdown(report))
    html_s, html = best(repeat, lambda: render_html(report))
    pdf_s, pdf = best(pdf_repeat, lambda: render_pdf(report))
    rows = len(report.open_actions) + len(report.completed) + len(report.deferred) + len(report.additional)
    print(f"{label:<6} {rows:>6} {report.feedback.metrics.count:>9} {count:>11} {load_s * 1000:>9.1f} "
          f"{md_s * 1000:>9.1f} {html_s * 1000:>9.1f} {pdf_s * 1000:>9.0f} {pdf_pages(pdf):>6} "
          f"{len(markdown) / 1024:>8.0f} {len(html) / 1024:>8.0f} {len(pdf) / 1024:>8.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="server URL; a temporary database is created on it and dropped")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pdf-repeat", type=int, default=1, help="PDF renders per size (slow: seconds each)")
    args = parser.parse_args()
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if args.postgres:
        import psycopg

        server = make_url(normalize_database_url(args.postgres))
        admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
        name = f"mb_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = server.set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    try:
        Base.metadata.create_all(engine)
        print(f"database: {engine.dialect.name}; best of {args.repeat}; times in ms; sizes in KiB")
        print(f"{'size':<6} {'rows':>6} {'feedback':>9} {'statements':>11} {'load':>9} {'markdown':>9} {'html':>9} "
              f"{'pdf':>9} {'pages':>6} {'md KiB':>8} {'html KiB':>8} {'pdf KiB':>8}")
        measure(engine, "demo", None, args.repeat, args.pdf_repeat)
        measure(engine, "big", BIG, args.repeat, args.pdf_repeat)
        print("rows = open action items + deliverables; the statement count must not change with them")
    finally:
        engine.dispose()
        drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
