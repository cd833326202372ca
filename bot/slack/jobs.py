"""Scheduled work run by the clock process and by `milestone-bot remind`: one module per feature.

Each job is `run(ctx) -> list[str]` (one line per message sent or failed, for the CLI to print). Jobs
must be safe to run twice at the same time (claim deliveries with bot.core.deliveries).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient

from bot.deps import Deps
from bot.slack.notifier import Notifier


@dataclass
class JobContext:
    deps: Deps
    client: WebClient
    notifier: Notifier
    now: datetime  # timezone-aware; injected so tests and catch-up runs can move the clock


Job = Callable[[JobContext], list[str]]
