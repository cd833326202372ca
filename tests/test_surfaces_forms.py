"""Forms and wording, over HTTP: one date format, numbers with separators, the milestone's currency in its
budget form and rows, and the confirmation after a section opened from a slash command."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Milestone, Risk
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender
from tests.test_milestones import arrange, open_modal
from tests.test_sections import button, pushed, updated


def test_dates_read_one_way_in_show(bot: SlackSender, db: sessionmaker[Session]) -> None:
    arrange(db, planned_start=date(2026, 3, 2), planned_end=date(2026, 11, 30))
    shown = json.dumps(bot.command("show M-001").json(), ensure_ascii=False)
    assert "Mon 2 Mar 2026 → Mon 30 Nov 2026" in shown and "2026-03-02" not in shown


def test_the_budget_speaks_the_milestones_currency_with_separators(bot: SlackSender, slack: FakeSlack,
                                                                   db: sessionmaker[Session]) -> None:
    arrange(db)
    new = open_modal(bot, slack, "new")
    currency = next(b for b in new["blocks"] if b.get("block_id") == "currency")
    assert currency["element"]["initial_value"] == "USD"  # the CURRENCY setting

    details = open_modal(bot, slack, "edit M-001 details")
    assert bot.submit_view(details, {"currency": "C$1"}).json()["errors"] == {
        "currency": "Use a three-letter currency code such as USD or EUR."}
    bot.submit_view(details, {"currency": "eur"})
    with db() as session:
        assert session.scalars(select(Milestone.currency)).one() == "EUR"

    listing = open_modal(bot, slack, "edit M-001 budget")
    bot.block_action("section_row_add", value=button(listing, "section_row_add"), view=listing)
    form = pushed(slack, 1)
    labels = [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"]
    assert "Budgeted (EUR)" in labels and "Actual (EUR)" in labels
    assert bot.submit_view(form, {"category": "Labor", "budgeted": "1250000", "actual": "1234567.5"}).json() is None
    rows = json.dumps(updated(slack, listing["id"], 1)["blocks"], ensure_ascii=False)
    assert "Budgeted (EUR): €1,250,000" in rows and "Actual (EUR): €1,234,567.50" in rows


def test_a_risk_form_shows_only_its_kinds_fields(bot: SlackSender, slack: FakeSlack,
                                                 db: sessionmaker[Session]) -> None:
    arrange(db)
    listing = open_modal(bot, slack, "edit M-001 risks")
    bot.block_action("section_row_add", value=button(listing, "section_row_add"), view=listing)
    form = pushed(slack, 1)

    def inputs(view: dict[str, Any]) -> dict[str, str]:
        return {b["block_id"]: b["label"]["text"] for b in view["blocks"] if b["type"] == "input"}

    assert inputs(form) == {"kind": "Kind", "risk": "Risk", "probability": "Probability", "impact": "Impact",
                            "management": "Mitigation plan"}  # a new risk, the default
    typed = copy.deepcopy(form)
    risk = next(b for b in typed["blocks"] if b.get("block_id") == "risk")
    risk["element"]["initial_value"] = "Vendor API late"  # as if typed before changing the kind
    kind = next(b for b in form["blocks"] if b.get("block_id") == "kind")
    mitigated = next(o for o in kind["element"]["options"] if o["value"] == "mitigated")
    bot.block_action("section_row_kind", action_type="static_select", block_id="kind",
                     selected={"selected_option": mitigated}, view=typed)
    redrawn = updated(slack, form["id"], 1)
    assert inputs(redrawn) == {"kind": "Kind", "risk": "Risk", "management": "Mitigation strategy",
                               "effectiveness": "Effectiveness"}
    assert next(b for b in redrawn["blocks"] if b.get("block_id") == "risk")["element"]["initial_value"] == (
        "Vendor API late")
    assert bot.submit_view(redrawn, {"kind": "mitigated", "effectiveness": "Worked"}).json() is None
    with db() as session:
        stored = session.scalars(select(Risk)).one()
        assert (stored.kind, stored.risk, stored.effectiveness, stored.probability) == (
            "mitigated", "Vendor API late", "Worked", None)
