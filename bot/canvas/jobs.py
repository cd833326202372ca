"""The clock's catch-up for canvases: any canvas whose milestone changed since it was last written is owed a
refresh. Every audited change already owes one in its own transaction (bot.core.audit); this catches what was
not audited through the bot (an edit made in the database by hand, a change while CANVAS was off) and what
only time changes ("overdue"). The fingerprint (bot.canvas.service.fingerprints) is a few grouped queries for
every canvas at once; `canvas_owed` coalesces with any refresh already pending, so running this in two clock
processes at once still owes one row per milestone."""

from __future__ import annotations

from bot.canvas import flows, service
from bot.slack import outbox
from bot.slack.jobs import JobContext


def run(ctx: JobContext) -> list[str]:
    flows.configure(ctx.deps.settings)
    if not ctx.deps.settings.canvas:
        return []
    with ctx.deps.read() as session:  # usually nothing is stale: no write lock for that
        stale = service.stale_canvases(session, ctx.now.date())
    if not stale:
        return []
    with ctx.deps.session() as session:
        ids = [flows.canvas_owed(session, milestone_id, ctx.now) for milestone_id, _ in stale]
    results = outbox.deliver(ctx.deps, ctx.client, ids, ctx.now)
    return [f"{r.status} {r.kind} {r.recipient_id}" + (f": {r.detail}" if r.detail else "") for r in results]
