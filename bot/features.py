"""Listener groups, one module per feature, each with `register(app, deps)` (bolt-python's starter layout)."""

from __future__ import annotations

from slack_bolt import App

from bot.actions import listeners as actions
from bot.deps import Deps
from bot.feedback import listeners as feedback
from bot.home import listeners as home
from bot.milestones import listeners as milestones
from bot.reports import listeners as reports
from bot.sections import listeners as sections
from bot.signoffs import listeners as signoffs
from bot.slack import command as core

GROUPS = (core, milestones, sections, signoffs, actions, feedback, reports, home)


def register_listeners(app: App, deps: Deps) -> None:
    for group in GROUPS:
        group.register(app, deps)
