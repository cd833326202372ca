"""`milestone-bot`: the processes (serve, socket) and the admin commands (db, …)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any

from bot.settings import Settings, SettingsError, exit_on_settings_error, load_settings

# Each command: (name, help, add_arguments, run). Features append theirs to COMMANDS.
Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace, Settings], int]]


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, help="port to bind (default: $PORT, else 3000)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: $WEB_CONCURRENCY or 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default: 8)")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """gunicorn with threaded workers: a production server, one Bolt app per worker process."""
    import os

    from gunicorn.app.base import BaseApplication

    port = args.port or settings.port
    workers = args.workers or int(os.environ.get("WEB_CONCURRENCY", "2"))

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"0.0.0.0:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", "-")

        def load(self) -> Any:
            from bot.web import create_web_app

            return create_web_app(settings)

    Server().run()
    return 0


def _socket(args: argparse.Namespace, settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app

    app, _deps = create_app(settings)
    SocketModeHandler(app, settings.slack_app_token).start()
    return 0


def _db_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["upgrade", "check"], help="upgrade: apply migrations; check: fail on drift")


def _db(args: argparse.Namespace, settings: Settings) -> int:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # our one line says what happened, not its chatter
    from models import migrate

    if args.action == "upgrade":
        applied = migrate.upgrade_applied(settings.database_url)
        where = _safe_url(settings.database_url)
        if applied:
            print(f"applied {len(applied)} migration(s) to {where}: {', '.join(applied)}")
        else:
            print(f"{where} was already at the latest revision; nothing to apply")
    else:
        migrate.check(settings.database_url)
        print("models and migrations agree")
    return 0


def _me() -> str:
    """How the person ran us, so a hint they paste works in their shell: `.venv/bin/milestone-bot` from a fresh
    clone (the bare name only when it is on PATH)."""
    import os
    import shutil
    import sys

    argv0 = sys.argv[0]
    if not argv0.endswith("milestone-bot"):
        return "python -m bot.cli"
    if shutil.which("milestone-bot") and os.path.samefile(shutil.which("milestone-bot") or "", argv0):
        return "milestone-bot"
    relative = os.path.relpath(argv0)
    return relative if not relative.startswith("..") else argv0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _remind_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", help="pretend it is this moment (ISO 8601, UTC unless it has an offset)")


def _remind(args: argparse.Namespace, settings: Settings) -> int:
    """One sweep of every reminder job, printing what it sent (the clock process runs the same sweep)."""
    from datetime import UTC, datetime

    from bot import features
    from bot.clock import sweep
    from bot.deps import make_deps

    now = None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            raise SettingsError(f"--now must be an ISO date-time like 2026-03-02T09:30:00Z, got {args.now!r}") from None
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    deps = make_deps(settings)
    lines = sweep(deps, now)
    print("\n".join(lines) if lines else "nothing to send")
    held = sweep(deps, now, jobs=list(features.HELD))  # after sending: what still waits, and why
    if held:
        print("\n".join(held))
    deps.engine.dispose()
    return 0


def _clock(args: argparse.Namespace, settings: Settings) -> int:
    from bot.clock import run_clock

    return run_clock(settings)


def _report_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", metavar="ID", help="the milestone's ID, e.g. M-042")
    parser.add_argument("--team", help="the workspace (team id) when the ID exists in several")
    parser.add_argument("--format", choices=["md", "html", "pdf"], default="md",
                        help="Markdown (default), HTML or PDF")
    parser.add_argument("--paper", choices=["A4", "Letter"], default="A4", help="the PDF's page size (default A4)")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")


def _report(args: argparse.Namespace, settings: Settings) -> int:
    """Render one milestone's report from the database, without Slack."""
    from pathlib import Path

    from bot.core.errors import DomainError
    from bot.demo import render_offline

    try:
        out = render_offline(settings, args.key, team_id=args.team, fmt=args.format, paper=args.paper)
    except DomainError as error:
        print(f"milestone-bot: {error}", file=sys.stderr)
        return 1
    data = out if isinstance(out, bytes) else out.encode("utf-8")
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"wrote {Path(args.output).resolve()}")
    elif isinstance(out, bytes):
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(out)
    return 0


def _demo_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out-dir", default=".", help="where to write report.md and report.html (default: here)")


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    """A complete sample milestone in the configured database, and its report as Markdown and HTML."""
    from pathlib import Path

    from bot.demo import DEMO_KEY, run_demo

    logging.getLogger("alembic").setLevel(logging.WARNING)  # the newcomer's first command: no migration chatter
    md_path, html_path = run_demo(settings, Path(args.out_dir))
    print(f"Demo milestone {DEMO_KEY} is in {_safe_url(settings.database_url)}")
    print(md_path)
    print(html_path)
    print(f"Open the HTML file in a browser; `{_me()} report {DEMO_KEY} --format html` renders it again.")
    return 0


def _import_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.md", help="a milestone report in the template's Markdown (1 MB at most)")
    parser.add_argument("--team", help="the workspace (team id); default: the only one in the database")
    parser.add_argument("--owner", metavar="U…", help="the owner's user id; default: the file's preparer, if matched")
    parser.add_argument("--id", dest="key", metavar="M-NNN", help="the milestone's ID (default: the file's)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be created; change nothing")


def _import(args: argparse.Namespace, settings: Settings) -> int:
    """Import a report written in the template's Markdown as a new Draft milestone (bot.imports)."""
    from pathlib import Path

    from bot.core.errors import DomainError
    from bot.imports import flows
    from bot.slack.client import make_web_client
    from models.db import make_engine, make_session_factory

    engine = make_engine(settings.database_url, lock_timeout_ms=settings.db_lock_timeout_ms)
    sessions = make_session_factory(engine)
    # SLACK_API_URL and the retries on 429 (users.list is tier 2) like every other client of the bot
    client = make_web_client(settings) if settings.slack_bot_token else None
    try:
        team = args.team or flows.team_of_database(sessions)
        if not team:
            raise SettingsError("give the workspace with --team T… (the database has none, or several)")
        data = Path(args.file).read_bytes()
        outcome = flows.run_import(sessions, data, team_id=team, owner_id=args.owner, key=args.key, client=client,
                                   dry_run=args.dry_run, currency=settings.currency)
    except OSError as error:
        print(f"milestone-bot: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 1
    except DomainError as error:
        problems = getattr(error, "problems", None)
        lines = [f"{args.file}:{p.line}: {p.text}" if p.line else f"{args.file}: {p.text}" for p in problems] \
            if problems else [f"milestone-bot: {error}"]
        print("\n".join(["Nothing was imported."] * bool(problems) + lines), file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print("\n".join(flows.describe(outcome)))
    return 0


COMMANDS: list[Command] = [
    ("serve", "run the web process (Slack events, /healthz, report pages) with gunicorn on $PORT", _serve_args, _serve),
    ("socket", "run the bot over Socket Mode (no public URL needed)", lambda parser: None, _socket),
    ("db", "database migrations", _db_args, _db),
    ("report", "render a milestone's report from the database as Markdown, HTML or PDF", _report_args, _report),
    ("demo", "create a complete sample milestone and write report.md and report.html", _demo_args, _demo),
    ("import", "import a report written in the template's Markdown as a new Draft milestone", _import_args, _import),
    ("remind", "send the reminders that are due now, once, and print them", _remind_args, _remind),
    ("clock", "run the reminder sweep every REMINDER_INTERVAL_MINUTES (the clock process)", lambda p: None, _clock),
]


# What each command needs before it starts: these settings, then the bot's tables at the code's revision
# (each missing piece is one line naming what to do).
NEEDS: dict[str, tuple[str, ...]] = {
    "serve": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
    "socket": ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"),
    "remind": ("SLACK_BOT_TOKEN",),
    "clock": ("SLACK_BOT_TOKEN",),
    "report": (),
    "import": (),
}
# Commands that build buttons or modals: their payloads are signed with SECRET_KEY (or the signing secret).
SIGNS = {"serve", "socket", "remind", "clock"}


def _require_schema(settings: Settings) -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line, not alembic's plugin chatter
    from models import migrate

    current, head = migrate.pending(settings.database_url)
    if head is not None:
        raise SettingsError(
            f"the database {_safe_url(settings.database_url)} is at revision {current}, the code needs {head}: "
            "run `milestone-bot db upgrade` first"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="milestone-bot", description="Milestone Bot for Slack.")
    sub = parser.add_subparsers(dest="command", required=True)
    runners: dict[str, Callable[[argparse.Namespace, Settings], int]] = {}
    for name, help_text, add_arguments, run in COMMANDS:
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
        runners[name] = run
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        if args.command in NEEDS:
            settings.require(*NEEDS[args.command])
            if args.command in SIGNS:
                settings.signing_key  # noqa: B018  (raises SettingsError naming SECRET_KEY when neither is set)
            _require_schema(settings)
        return runners[args.command](args, settings)
    except SettingsError as error:
        exit_on_settings_error(error)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
