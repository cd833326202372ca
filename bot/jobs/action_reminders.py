"""Scheduled job: action_reminders (not built yet)."""

from __future__ import annotations

from bot.jobs import JobContext


def run(ctx: JobContext) -> list[str]:
    return []
