"""The HTML report page, served by the web process at a signed, expiring link (`/reports/<token>`).

The token (bot.reports.links.sign_link, itsdangerous) names the milestone and the revision it was made for and is keyed
with SECRET_KEY, so links cannot be guessed or altered. A link that is not ours answers 404 and an expired
one 410; neither shows any of the report. The page always shows the current report, with a note when it
has changed since the link was made. Importing this module adds the route to bot.web.WEB_ROUTES.
"""

from __future__ import annotations

from flask import Flask, Response
from markupsafe import escape

from bot.core.errors import NotFound
from bot.deps import Deps
from bot.reports.rendering import render_html
from bot.reports.service import LinkExpired, LinkInvalid, load_report, verify_link
from bot.web import WEB_ROUTES
from models import Milestone, utcnow

# Nothing on the page runs scripts or loads anything: a strict policy is a second line behind escaping.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "private, no-store",
}


def _page(status: int, title: str, message: str) -> Response:
    body = (
        f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
        "<style>body{font:16px/1.5 sans-serif;max-width:640px;margin:64px auto;padding:0 24px;color:#1d1c1d}"
        f"</style></head><body><h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>"
    )
    return Response(body, status=status, mimetype="text/html", headers=SECURITY_HEADERS)


def add_report_routes(web: Flask, deps: Deps) -> None:
    @web.get("/reports/<token>")
    def report_page(token: str) -> Response:
        now = utcnow()
        try:
            target = verify_link(deps.settings.signing_key, token, now=now)
        except LinkInvalid:
            return _page(404, "Report not found", "This link is not a valid report link.")
        except LinkExpired as expired:
            with deps.session() as session:
                milestone = session.get(Milestone, expired.milestone_id)
                key = milestone.key if milestone else "the milestone"
            return _page(410, "This report link has expired",
                         f"Ask for a fresh link in Slack: /milestone report {key} preview")
        try:
            with deps.session() as session:
                report = load_report(session, target.milestone_id, now=now)
        except NotFound:
            return _page(404, "Report not found", "This milestone no longer exists.")
        notice = None
        if report.revision != target.revision:
            notice = (f"This link was made for revision {target.revision}; the report has changed since. "
                      f"You are reading the current report, revision {report.revision}.")
        return Response(render_html(report, notice=notice), mimetype="text/html", headers=SECURITY_HEADERS)


if add_report_routes not in WEB_ROUTES:
    WEB_ROUTES.append(add_report_routes)
