"""Every report section filled in through its Slack modal, over HTTP, as Slack would drive it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.sections.service import MAX_ROWS, SECTIONS, Section, empty_sections, get_section
from models import AuditEvent, DefectCount, FieldSpec, Milestone, MilestoneEditor, Risk
from tests.conftest import hold_write_lock
from tests.fakeslack import FakeSlack, validate_blocks
from tests.harness import SlackSender
from tests.test_milestones import ESCAPED, NASTY, arrange, create, errors_of, open_modal

# What a person types into each kind of input, and what the database must then hold.
_INTS = {"total_tests": 100, "found": 20}


def sample(spec: FieldSpec) -> tuple[Any, Any]:
    kind = spec.kind
    if spec.name == "currency":
        return "eur", "EUR"  # a code, stored upper-case
    if kind == "int":
        number = _INTS.get(spec.name, 7)
        return str(number), number
    if kind == "decimal":
        return "12.5", Decimal("12.50")
    if kind == "money":
        return "$1,250", Decimal("1250.00")
    if kind == "percent":
        return "95", Decimal("95.00")
    if kind == "date":
        return "2026-03-01", date(2026, 3, 1)
    if kind == "select":
        assert spec.choices is not None
        value = list(spec.choices)[-1].value
        return value, value
    if kind == "user":
        return "UEDITOR", "UEDITOR"
    if kind == "channel":
        return "C0001", "C0001"
    if kind == "bool":
        return ["yes"], True
    if kind == "url":
        return "https://example.com/doc", "https://example.com/doc"
    if kind == "multiline":
        return "First line\nsecond line", "First line\nsecond line"
    text = f"{spec.label} typed"[: spec.max_length]
    return text, text


def samples(section: Section) -> tuple[dict[str, Any], dict[str, Any]]:
    """What to type in the form and what the database then holds. A table of several kinds (risks) shows
    only the sampled kind's fields; the others stay empty."""
    specs = section.specs()
    if section.variants:
        kind = sample(next(s for s in specs if s.name == section.variant_field))[0]
        specs = section.specs_for(kind)
    pairs = {spec.name: sample(spec) for spec in specs}
    hidden = {spec.name: None for spec in section.specs() if spec.name not in pairs}
    return {k: raw for k, (raw, _) in pairs.items()}, {**hidden, **{k: typed for k, (_, typed) in pairs.items()}}


def stored(db: sessionmaker[Session], section: Section) -> list[dict[str, Any]]:
    """The section's record(s) as the database holds them, field by field."""
    names = [spec.name for spec in section.specs()]
    with db() as session:
        if section.kind == "columns":
            records = list(session.scalars(select(Milestone)))
        else:
            query = select(section.model)
            for name, value in section.fixed:
                query = query.where(getattr(section.model, name) == value)
            records = list(session.scalars(query.order_by(section.model.id)))
        return [{name: getattr(r, name) for name in names} for r in records]


def revision(db: sessionmaker[Session]) -> int:
    with db() as session:
        return session.scalars(select(Milestone.revision)).one()


def audited(db: sessionmaker[Session]) -> list[tuple[str, str | None, int | None]]:
    with db() as session:
        return [(e.action, e.section, e.revision) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def button(view: dict[str, Any], action_id: str, nth: int = 0) -> str:
    values = [e["value"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
              if e.get("action_id") == action_id]
    values += [b["accessory"]["value"] for b in view["blocks"]
               if b.get("accessory", {}).get("action_id") == action_id]
    return values[nth]


def pushed(slack: FakeSlack, count: int) -> dict[str, Any]:
    call = slack.wait_for("views.push", count)[count - 1]
    assert call.response["ok"], call.response
    return call.response["view"]


def updated(slack: FakeSlack, view_id: str, count: int) -> dict[str, Any]:
    """The view after the bot's `count`-th views.update of it."""
    calls = slack.wait_for("views.update", count, where=lambda c: c.params.get("view_id") == view_id)
    assert calls[count - 1].response["ok"], calls[count - 1].response
    return slack.views[view_id]


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


# ---- each section, end to end ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", [s.key for s in SECTIONS])
def test_each_section_is_filled_in_through_its_modal(bot: SlackSender, slack: FakeSlack,
                                                     db: sessionmaker[Session], key: str) -> None:
    arrange(db, name="Checkout revamp")
    section = get_section(key)
    raw, expected = samples(section)
    view = open_modal(bot, slack, f"edit M-001 {key}")
    assert view["title"]["text"] == section.title

    if not section.is_table:
        assert view["callback_id"] == "section_form"
        answer = bot.submit_view(view, raw).json()  # opened from a command: the modal says it saved
        assert answer["response_action"] == "update"
        assert f"Saved · {section.title.replace('&', '&amp;')} · revision 2" in json.dumps(answer["view"],
                                                                                          ensure_ascii=False)
        assert stored(db, section) == [expected]
        assert revision(db) == 2
        assert audited(db) == [("section.saved", key, 2)]
        # Opened again, it shows what was saved; saving it unchanged is no new revision.
        again = open_modal(bot, slack, f"edit M-001 {key}")
        answer = bot.submit_view(again, {}).json()
        assert "Nothing changed" in json.dumps(answer["view"], ensure_ascii=False)
        assert revision(db) == 2 and stored(db, section) == [expected]
        return

    assert view["callback_id"] == "section_rows"
    assert "Nothing here yet" in texts(view)
    bot.block_action("section_row_add", value=button(view, "section_row_add"), view=view)
    form = pushed(slack, 1)
    assert form["callback_id"] == "section_row"
    assert bot.submit_view(form, raw).json() is None
    listing = updated(slack, view["id"], 1)
    assert stored(db, section) == [expected]
    assert len([b for b in listing["blocks"] if b.get("block_id", "").endswith("_actions")]) == 1

    # Edit the row: the form opens with its values; change one.
    main = next((s for s in section.specs() if s.kind == "text"), None) or section.specs()[1]
    change, changed = ("Changed", "Changed") if main.kind == "text" else ("21", 21)
    bot.block_action("section_row_edit", value=button(listing, "section_row_edit"), view=listing)
    form = pushed(slack, 2)
    initial = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert initial[main.name]["initial_value"] == raw[main.name]
    assert bot.submit_view(form, {main.name: change}).json() is None
    listing = updated(slack, view["id"], 2)
    assert stored(db, section) == [{**expected, main.name: changed}]
    assert change in texts(listing)

    # Remove it.
    bot.block_action("section_row_remove", value=button(listing, "section_row_remove"), view=listing)
    listing = updated(slack, view["id"], 3)
    assert stored(db, section) == []
    assert "Nothing here yet" in texts(listing)
    assert revision(db) == 4
    assert [a[:2] for a in audited(db)] == [("section.saved", key)] * 3


def test_the_picker_leads_to_every_section_within_slacks_three_view_stack(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    create(bot, slack)
    picker = open_modal(bot, slack, "edit M-001")
    assert picker["callback_id"] == "section_picker"
    assert [b["block_id"] for b in picker["blocks"] if b.get("block_id", "").startswith("section_")] == [
        f"section_{s.key}" for s in SECTIONS]

    # Picker → risks list (2nd view) → add-risk form (3rd view).
    keys = [s.key for s in SECTIONS]
    bot.block_action("section_edit", value=button(picker, "section_edit", keys.index("risks")), view=picker)
    listing = pushed(slack, 1)
    assert listing["title"]["text"] == "Risks" and listing["previous_view_id"] == picker["id"]
    bot.block_action("section_row_add", value=button(listing, "section_row_add"), view=listing)
    form = pushed(slack, 2)
    assert form["previous_view_id"] == listing["id"]
    assert bot.submit_view(form, {"risk": "Vendor API late", "kind": "realized", "impact": "high"}).json() is None
    assert "Vendor API late" in texts(updated(slack, listing["id"], 1))
    assert "_1 row_" in texts(updated(slack, picker["id"], 1))

    # Picker → executive summary form; the picker then says it is filled in. (The fake cannot see a modal
    # close, so this starts from a fresh picker rather than popping the stack above.)
    picker = open_modal(bot, slack, "edit M-001")
    bot.block_action("section_edit", value=button(picker, "section_edit", keys.index("summary")), view=picker)
    summary = pushed(slack, 3)
    assert bot.submit_view(summary, {"executive_summary": "We shipped."}).json() is None
    picker_now = updated(slack, picker["id"], 1)
    summary_block = next(b for b in picker_now["blocks"] if b.get("block_id") == "section_summary")
    assert "filled in" in summary_block["text"]["text"]
    with db() as session:
        milestone = session.scalars(select(Milestone)).one()
        assert milestone.executive_summary == "We shipped." and milestone.revision == 3


def test_buttons_on_the_confirmation_and_the_section_menu_open_sections(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    create(bot, slack)
    dm = slack.wait_for("chat.postMessage", where=lambda c: (c.response or {}).get("channel") == "DUOWNER")[0]
    message = dm.response["message"]
    bot.block_action("section_edit", value=button(message, "section_edit"), message=message)
    view = slack.wait_for("views.open", 2)[1].response["view"]
    assert view["title"]["text"] == "Executive summary"
    show = bot.command("show M-001").json()
    menu = next(e for b in show["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == "section_select")
    option = next(o for o in menu["options"] if o["text"]["text"] == "Budget")
    bot.block_action("section_select", action_type="static_select", selected={"selected_option": option},
                     message={"ts": "1.2", "blocks": show["blocks"], "channel": "C0001"})
    view = slack.wait_for("views.open", 3)[2].response["view"]
    assert view["title"]["text"] == "Budget" and view["callback_id"] == "section_rows"


# ---- validation -----------------------------------------------------------------------------------------


def test_bad_values_answer_errors_next_to_their_inputs_and_save_nothing(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = arrange(db)
    with db() as session, session.begin():
        session.add(DefectCount(milestone_id=milestone_id, severity="high", found=3))

    view = open_modal(bot, slack, "edit M-001 timeline")
    assert errors_of(bot.submit_view(view, {"planned_start": "2026-05-01", "planned_end": "2026-04-01"})) == {
        "planned_end": "The end date is before the start date."}

    view = open_modal(bot, slack, "edit M-001 quality")
    errors = errors_of(bot.submit_view(view, {"code_coverage_pct": "140", "total_tests": "ten",
                                              "lines_of_code": "12.5"}))
    assert errors == {"code_coverage_pct": "Enter a percentage from 0 to 100.",
                      "total_tests": "Enter a number, like 42.", "lines_of_code": "Enter a whole number, like 42."}
    assert errors_of(bot.submit_view(view, {"total_tests": "10", "passed_tests": "9", "failed_tests": "2"})) == {
        "total_tests": "Passed, failed and blocked add up to more than the total."}

    def row_form(key: str, count: int) -> dict[str, Any]:
        listing = open_modal(bot, slack, f"edit M-001 {key}")
        bot.block_action("section_row_add", value=button(listing, "section_row_add"), view=listing)
        return pushed(slack, count)

    form = row_form("effort", 1)
    assert errors_of(bot.submit_view(form, {"role": "QA", "planned_hours": "lots"})) == {
        "planned_hours": "Enter a number, like 12.5."}
    form = row_form("risks", 2)
    assert errors_of(bot.submit_view(form, {"risk": ""})) == {"risk": "Please fill in “Risk”."}
    assert errors_of(bot.submit_view(form, {"risk": "r" * 201})) == {
        "risk": "Keep it to 200 characters (this has 201)."}
    form = row_form("defects", 3)
    assert errors_of(bot.submit_view(form, {"severity": "high", "found": "1"})) == {
        "severity": "There is already a row for High: edit that one instead."}

    assert revision(db) == 1 and audited(db) == []
    assert len(stored(db, get_section("defects"))) == 1 and stored(db, get_section("risks")) == []


# ---- nothing twice, nothing lost ------------------------------------------------------------------------


def _twice(bot: SlackSender, view: dict[str, Any], values: dict[str, Any], *, confirmed: bool = False) -> None:
    """Both answers are plain acks, except the one saving submission of a form opened from a command, which
    confirms the save (the repeat changes nothing and closes quietly)."""
    answers = [a.json() for a in bot.submit_concurrently(view, values)]
    actions = sorted((a or {}).get("response_action", "") for a in answers)
    assert actions == (["", "update"] if confirmed else ["", ""])


def test_a_double_submission_changes_the_data_once(bot: SlackSender, slack: FakeSlack,
                                                   db: sessionmaker[Session]) -> None:
    arrange(db)
    view = open_modal(bot, slack, "edit M-001 summary")
    _twice(bot, view, {"executive_summary": "Once"}, confirmed=True)
    assert revision(db) == 2

    listing = open_modal(bot, slack, "edit M-001 risks")
    bot.block_action("section_row_add", value=button(listing, "section_row_add"), view=listing)
    form = pushed(slack, 1)
    _twice(bot, form, {"risk": "Only one"})
    assert bot.submit_view(form, {"risk": "Only one"}).json() is None  # Slack's retry, later
    assert [r["risk"] for r in stored(db, get_section("risks"))] == ["Only one"]
    assert revision(db) == 3
    assert len(audited(db)) == 2


def test_a_failed_save_keeps_the_modal_open_with_the_input_and_changes_nothing(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], engine: Engine
) -> None:
    arrange(db)
    view = open_modal(bot, slack, "edit M-001 summary")
    with hold_write_lock(engine, "milestones", "processed_submissions"):
        errors = errors_of(bot.submit_view(view, {"executive_summary": "Typed with care"}))
    assert set(errors) == {"executive_summary"}
    assert "Your input is still here" in errors["executive_summary"]
    with db() as session:
        assert session.scalars(select(Milestone.executive_summary)).one() is None
    assert revision(db) == 1
    # Pressing Save again once the database is free saves it.
    assert bot.submit_view(view, {"executive_summary": "Typed with care"}).json()["response_action"] == "update"
    assert revision(db) == 2


# ---- who may edit ---------------------------------------------------------------------------------------


def test_only_owner_editors_and_admins_may_edit(bot: SlackSender, slack: FakeSlack,
                                                db: sessionmaker[Session]) -> None:
    milestone_id = arrange(db)
    with db() as session, session.begin():
        session.add(MilestoneEditor(milestone_id=milestone_id, user_id="UEDITOR", added_by="UOWNER"))
        session.add(Risk(milestone_id=milestone_id, risk="Keep me", kind="new"))

    assert bot.command("edit M-001 risks", user_id="USTRANGER").status == 200
    refusal = slack.wait_for("response_url")[0].params
    assert refusal["response_type"] == "ephemeral"
    assert "Only the owner and editors of M-001 (or a workspace admin) can change it" in refusal["text"]
    assert slack.calls_to("views.open") == []

    for user_id in ("UEDITOR", "UADMIN", "UOWNER"):
        assert open_modal(bot, slack, "edit M-001 risks", user_id=user_id)["callback_id"] == "section_rows"

    # An editor removed while their modals are open can no longer save or remove anything.
    summary = open_modal(bot, slack, "edit M-001 summary", user_id="UEDITOR")
    listing = open_modal(bot, slack, "edit M-001 risks", user_id="UEDITOR")
    with db() as session, session.begin():
        session.execute(MilestoneEditor.__table__.delete())
    errors = errors_of(bot.submit_view(summary, {"executive_summary": "Sneaky"}, user_id="UEDITOR"))
    assert "Only the owner and editors" in errors["executive_summary"]
    bot.block_action("section_row_remove", value=button(listing, "section_row_remove"), view=listing,
                     user_id="UEDITOR")
    notice = pushed(slack, 1)
    assert "Only the owner and editors" in texts(notice)
    assert [r["risk"] for r in stored(db, get_section("risks"))] == ["Keep me"]
    assert revision(db) == 1 and audited(db) == []


def test_the_fill_in_button_in_the_channel_refuses_a_stranger_politely(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    create(bot, slack)
    post = slack.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "C0001")[0]
    message = post.response["message"]
    bot.block_action("milestone_sections", value=button(message, "milestone_sections"), message=message,
                     user_id="USTRANGER", channel_id="C0001")
    refusal = slack.wait_for("response_url")[0].params
    assert refusal["response_type"] == "ephemeral" and "Only the owner and editors" in refusal["text"]
    assert len(slack.calls_to("views.open")) == 1  # only the "new" form, earlier


# ---- limits ---------------------------------------------------------------------------------------------


def _fill_table(session: Session, milestone_id: int, section: Section, count: int) -> None:
    """`count` rows whose every text is as long as allowed and full of characters escaping lengthens."""
    specs = section.specs()
    choices = {s.name: [c.value for c in s.choices] for s in specs if s.choices is not None}
    for n in range(count):
        row = section.model(milestone_id=milestone_id, position=n, **dict(section.fixed))
        for spec in specs:
            if spec.kind in ("text", "multiline"):
                value: Any = ("<&>" * 1000)[: spec.max_length]
            elif spec.name in choices:
                value = choices[spec.name][n % len(choices[spec.name])]
            else:
                value = sample(spec)[1]
            setattr(row, spec.name, value)
        session.add(row)


def test_tables_at_their_maximum_size_pass_slacks_limits_and_refuse_another_row(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = arrange(db, name=NASTY * 7)
    tables = [s for s in SECTIONS if s.is_table]
    with db() as session, session.begin():
        for section in tables:
            unique = 4 if section.model is DefectCount else MAX_ROWS  # one defect row per severity
            _fill_table(session, milestone_id, section, unique)
    for section in tables:
        view = open_modal(bot, slack, f"edit M-001 {section.key}")  # the fake refuses a view over a limit
        assert len(view["blocks"]) <= 100
        if section.model is not DefectCount:
            assert "section_row_add" not in texts(view) and f"full ({MAX_ROWS} rows)" in texts(view)
    picker = open_modal(bot, slack, "edit M-001")
    assert f"_{MAX_ROWS} rows_" in texts(picker)
    assert validate_blocks(bot.command("show M-001").json()["blocks"], "message") == []

    # A form opened before the table filled up cannot add a 31st row.
    with db() as session, session.begin():
        session.delete(session.scalars(select(Risk)).first())
    listing = open_modal(bot, slack, "edit M-001 risks")
    bot.block_action("section_row_add", value=button(listing, "section_row_add"), view=listing)
    form = pushed(slack, 1)
    with db() as session, session.begin():
        session.add(Risk(milestone_id=milestone_id, risk="The 30th", kind="new"))
    assert errors_of(bot.submit_view(form, {"risk": "One too many"})) == {
        "kind": f"Risks holds at most {MAX_ROWS} rows; remove one first."}


def test_typed_text_is_escaped_in_every_section_view(bot: SlackSender, slack: FakeSlack,
                                                     db: sessionmaker[Session]) -> None:
    arrange(db, name=NASTY)
    listing = open_modal(bot, slack, "edit M-001 risks")
    bot.block_action("section_row_add", value=button(listing, "section_row_add"), view=listing)
    form = pushed(slack, 1)
    assert bot.submit_view(form, {"risk": NASTY, "management": NASTY}).json() is None
    listing = updated(slack, listing["id"], 1)
    picker = open_modal(bot, slack, "edit M-001")
    for view in (listing, picker, form):
        dumped = json.dumps(view, ensure_ascii=False)
        assert ESCAPED in dumped
        assert "<!channel>" not in dumped
    assert [r["risk"] for r in stored(db, get_section("risks"))] == [NASTY]  # stored as typed


# ---- the registry other features read -------------------------------------------------------------------


def test_empty_sections_names_what_is_still_to_fill_in(db: sessionmaker[Session]) -> None:
    milestone_id = arrange(db)
    with db() as session:
        milestone = session.get(Milestone, milestone_id)
        assert [s.key for s in empty_sections(milestone)] == [s.key for s in SECTIONS if s.key != "details"]
    with db() as session, session.begin():
        milestone = session.get(Milestone, milestone_id)
        milestone.executive_summary = "Done"
        session.add(Risk(milestone_id=milestone_id, risk="One", kind="new"))
    with db() as session:
        empty = {s.key for s in empty_sections(session.get(Milestone, milestone_id))}
    assert {"summary", "risks", "details"}.isdisjoint(empty) and {"scope", "budget", "quality"} <= empty


def test_sections_follow_the_template_and_fit_slack() -> None:
    keys = [s.key for s in SECTIONS]
    assert keys.index("summary") < keys.index("criteria") < keys.index("completed") < keys.index("phases")
    assert keys.index("risks") < keys.index("validation") < keys.index("lessons") < keys.index("architecture")
    assert keys[-3:] == ["comments", "appendices", "metadata"]
    assert len(set(keys)) == len(keys)
    for section in SECTIONS:
        assert len(section.title) <= 24 and len(f"Edit {section.noun}") <= 24
        assert section.specs(), section.key
    assert get_section("Executive-Summary").key == "summary"
