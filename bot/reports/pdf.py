"""The report as a PDF: the HTML page printed by WeasyPrint with CSS paged media (A4 or Letter, a running
header with ID · name · revision, "Page n of N" and the generation time in the footer).

WeasyPrint fetches what a page links to (stylesheets, images, fonts by URL) and has had a server-side request
forgery advisory; our page needs nothing from outside, so its fetcher refuses every URL: no network, no
files, no data URLs. Needs WeasyPrint's system libraries (Pango; .ci/run installs them from Debian).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.reports.rendering import Paper, render_html
from bot.reports.report import Report

log = logging.getLogger(__name__)
# WeasyPrint logs every layout step of every page at INFO (some 35 lines a report): the demo's output and
# the web process's log say only that the PDF was written, or what went wrong (warnings still show).
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def _refusing_fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetchingError

    class RefuseAll(URLFetcher):
        """Fetches nothing: every URL the document names is refused (and logged)."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            log.warning("PDF rendering refused to fetch %.200s", url)
            raise URLFetchingError(f"fetching is disabled for the report PDF: {url[:200]}")

    return RefuseAll()


def html_to_pdf(html: str) -> bytes:
    """Any HTML string to PDF bytes, without fetching anything it names."""
    # Imported here: a process needs Pango only when it renders a PDF.
    from weasyprint import HTML

    pdf = HTML(string=html, base_url=None, url_fetcher=_refusing_fetcher()).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def render_pdf(report: Report, *, paper: Paper = "A4") -> bytes:
    """The report as a PDF on A4 or Letter paper."""
    return html_to_pdf(render_html(report, paper=paper, for_print=True))
