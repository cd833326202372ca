"""The clock process and `milestone-bot remind`: run every job in `bot.slack.jobs.all_jobs()`.

`remind` runs one sweep and exits. `clock` runs the same sweep every REMINDER_INTERVAL_MINUTES with
APScheduler 3's BlockingScheduler: the schedule lives here in code and the state in our tables (no shared
job store, as APScheduler's FAQ asks of several processes), `coalesce` folds missed runs into one,
`max_instances=1` stops a slow sweep from overlapping itself in this process, and two clock processes
overlapping during a deploy are safe because every message is claimed in the database before it is sent.
SIGTERM (a deploy, `heroku ps:stop`) lets the running sweep finish and exits 0.
"""

from __future__ import annotations

import logging
import signal
from datetime import datetime
from types import FrameType

from bot import features
from bot.deps import Deps, make_deps
from bot.settings import Settings
from bot.slack import outbox
from bot.slack.client import make_web_client
from bot.slack.jobs import Job, JobContext
from bot.slack.notifier import Notifier
from models import utcnow

log = logging.getLogger(__name__)


def send_owed(ctx: JobContext) -> list[str]:
    """The outbox: messages owed by committed changes that were not sent yet (their sender died, or Slack
    was down). Runs first, so a sweep never competes with what a crashed request left behind."""
    return [outbox.describe(result) for result in outbox.sweep(ctx.deps, ctx.client, ctx.now)]


def all_jobs() -> list[tuple[str, Job]]:
    return [
        ("outbox", send_owed),
        *features.JOBS,
    ]


def sweep(deps: Deps, now: datetime | None = None, *, jobs: list[tuple[str, Job]] | None = None) -> list[str]:
    """Every job once; one line per message sent or failed. A failing job is logged and the others still run."""
    client = make_web_client(deps.settings)
    ctx = JobContext(deps=deps, client=client, notifier=Notifier(client), now=now or utcnow())
    lines: list[str] = []
    for name, job in jobs or all_jobs():
        try:
            lines += [f"{name}: {line}" for line in job(ctx)]
        except Exception:
            log.exception("job %s failed; the next sweep tries again", name)
            lines.append(f"{name}: FAILED (see the log); the next sweep tries again")
    return lines


def run_clock(settings: Settings) -> int:
    from apscheduler.schedulers.blocking import BlockingScheduler

    settings.require("SLACK_BOT_TOKEN")
    deps = make_deps(settings)
    minutes = max(1, settings.reminder_interval_minutes)
    scheduler = BlockingScheduler(timezone="UTC")

    def tick() -> None:
        lines = sweep(deps)
        for line in lines:
            log.info("%s", line)
        log.info("sweep done: %d message(s)", len(lines))

    def outbox_tick() -> None:
        for line in sweep(deps, jobs=[("outbox", send_owed)]):
            log.info("%s", line)

    scheduler.add_job(
        tick, "interval", minutes=minutes, id="sweep", coalesce=True, max_instances=1,
        next_run_time=utcnow(), misfire_grace_time=minutes * 60,
    )
    # Owed messages wait at most a minute after a crash, whatever REMINDER_INTERVAL_MINUTES says.
    scheduler.add_job(outbox_tick, "interval", minutes=1, id="outbox", coalesce=True, max_instances=1,
                      misfire_grace_time=60)

    def stop(signum: int, _frame: FrameType | None) -> None:
        if scheduler.running:
            log.info("signal %d: stopping after the running sweep", signum)
            scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("clock started: sweeping every %d minute(s)", minutes)
    scheduler.start()
    deps.engine.dispose()
    log.info("clock stopped")
    return 0
