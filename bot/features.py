"""Every feature of the bot, for every process: listener groups (each with `register(app, deps)`, bolt-python's
starter layout) and scheduled jobs. Importing this module also registers every kind of outbox message, so
the web process, the clock and `remind` all know how to send whatever another process left owed."""

from __future__ import annotations

from slack_bolt import App

from bot.actions import jobs as action_jobs
from bot.actions import listeners as actions
from bot.assignments import listeners as assignments
from bot.canvas import jobs as canvas_jobs
from bot.canvas import listeners as canvas
from bot.deps import Deps
from bot.feedback import jobs as feedback_jobs
from bot.feedback import listeners as feedback
from bot.home import listeners as home
from bot.imports import listeners as imports
from bot.milestones import listeners as milestones
from bot.reports import listeners as reports
from bot.sections import listeners as sections
from bot.signoffs import jobs as signoff_jobs
from bot.signoffs import listeners as signoffs
from bot.slack import command as core

GROUPS = (core, milestones, sections, signoffs, actions, feedback, reports, home, assignments, imports,
          canvas)


JOBS = (
    ("action reminders", action_jobs.run),
    ("sign-off reminders", signoff_jobs.run),
    ("feedback reminders", feedback_jobs.run),
    ("canvases", canvas_jobs.run),
)

# Read-only explanations `milestone-bot remind` prints after a sweep: what waits, and why.
HELD = (("action reminders", action_jobs.held),)


def register_listeners(app: App, deps: Deps) -> None:
    for group in GROUPS:
        group.register(app, deps)
