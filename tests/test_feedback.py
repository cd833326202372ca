"""Stakeholder feedback over HTTP: the answer modal, anonymity, one answer per person, requests, reminders,
and the computed figures checked against values worked out by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from models import FeedbackRequest, FeedbackResponse, Milestone, MilestoneEditor
from tests.conftest import hold_write_lock
from tests.fakeslack import FakeSlack, validate_blocks, validate_view
from tests.harness import TEAM_ID, SlackSender

SECRET_KEY = b"test-secret-key"  # what conftest gives the server as SECRET_KEY


def make_milestone(db: sessionmaker[Session], key: str = "M-042", owner: str = "UOWNER",
                   editors: tuple[str, ...] = ()) -> int:
    with db() as session, session.begin():
        milestone = Milestone(team_id=TEAM_ID, key=key, name="Checkout <!channel> & co", owner_id=owner,
                              created_by=owner)
        session.add(milestone)
        session.flush()
        for editor in editors:
            session.add(MilestoneEditor(milestone_id=milestone.id, user_id=editor, added_by=owner))
        return milestone.id


def open_modal(bot: SlackSender, slack: FakeSlack, text: str, user_id: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    answer = bot.command(text, user_id=user_id)
    assert answer.status == 200
    call = slack.wait_for("views.open", before + 1)[-1]
    assert call.response["ok"], call.response  # the fake's Block Kit checks passed
    return call.response["view"]


def responses(db: sessionmaker[Session]) -> list[FeedbackResponse]:
    with db() as session:
        return list(session.scalars(select(FeedbackResponse).order_by(FeedbackResponse.id)))


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def view_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


ANSWER = {"satisfaction": "4", "nps": "9", "group": "beta_user", "themes": ["positive", "feature_request"],
          "comment": "Fast checkout <!channel>"}


def test_modal_round_trip_saves_the_answer_and_a_second_answer_replaces_the_first(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    view = open_modal(bot, slack, "feedback m-42", "UQA")
    assert view["title"]["text"] == "Feedback · M-042"
    assert view["submit"]["text"] == "Send feedback"
    # The milestone's name is user text: escaped, so it cannot ping the channel.
    assert "Checkout &lt;!channel&gt; &amp; co" in view["blocks"][0]["text"]["text"]
    assert "What “anonymous” means" in view_text(view)

    answer = bot.submit_view(view, ANSWER, user_id="UQA").json()
    assert answer["response_action"] == "update"
    assert validate_view(answer["view"]) == []
    assert "Thanks! Your feedback on *M-042* is saved." in view_text(answer["view"])
    assert "saved with your name" in view_text(answer["view"])
    [row] = responses(db)
    assert (row.user_id, row.anonymous, row.satisfaction, row.nps, row.group, row.accepts) == (
        "UQA", False, 4, 9, "beta_user", None)
    assert row.themes == ["positive", "feature_request"]
    assert row.comment == "Fast checkout <!channel>"

    # Re-opened: their (named) answer is filled in, and the modal says sending replaces it.
    again = open_modal(bot, slack, "feedback M-042", "UQA")
    assert again["submit"]["text"] == "Update my answer"
    assert "sending replaces it" in view_text(again)
    assert block(again, "satisfaction")["element"]["initial_option"]["value"] == "4"
    assert block(again, "nps")["element"]["initial_option"]["value"] == "9"
    assert block(again, "comment")["element"]["initial_value"] == "Fast checkout <!channel>"
    assert [o["value"] for o in block(again, "themes")["element"]["initial_options"]] == [
        "positive", "feature_request"]

    second = bot.submit_view(again, {"satisfaction": "2", "themes": ["improvement"]}, user_id="UQA").json()
    assert "Your earlier answer on *M-042* was replaced with this one." in view_text(second["view"])
    [row] = responses(db)
    assert (row.satisfaction, row.nps, row.themes) == (2, 9, ["improvement"])


def test_anonymous_feedback_is_stored_without_the_user(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], engine: Engine
) -> None:
    milestone_id = make_milestone(db)
    view = open_modal(bot, slack, "feedback M-042", "UPO")
    answer = bot.submit_view(view, {**ANSWER, "anonymous": ["anonymous"]}, user_id="UPO").json()
    assert "saved *anonymously*" in view_text(answer["view"])

    [row] = responses(db)
    assert row.user_id is None and row.anonymous is True
    # Only the date is kept, so the answer cannot be matched to someone by its time either.
    assert (row.submitted_at.hour, row.submitted_at.minute, row.updated_at.second) == (0, 0, 0)
    # The fingerprint needs SECRET_KEY: without it, hashing the candidates in the database does not match.
    message = f"feedback-respondent:v1:{TEAM_ID}:{milestone_id}:UPO".encode()
    assert row.respondent_hash == hmac.new(SECRET_KEY, message, hashlib.sha256).hexdigest()
    assert row.respondent_hash not in {hashlib.sha256(message).hexdigest(), hashlib.sha256(b"UPO").hexdigest()}
    # Nothing anywhere in the database links UPO to an answer.
    with engine.connect() as conn:
        for table in ("feedback_responses", "audit_events", "processed_submissions", "user_profiles"):
            dump = json.dumps([list(r) for r in conn.execute(text(f"SELECT * FROM {table}"))], default=str)
            assert "UPO" not in dump, table

    # Re-opened: they are told they answered anonymously; the answer is not shown back; it stays one answer.
    again = open_modal(bot, slack, "feedback M-042", "UPO")
    assert "You already answered anonymously" in view_text(again)
    assert "initial_option" not in block(again, "satisfaction")["element"]
    assert "initial_value" not in block(again, "comment")["element"]
    assert block(again, "anonymous")["element"]["initial_options"][0]["value"] == "anonymous"
    second = bot.submit_view(again, {"satisfaction": "5", "nps": "10", "group": "other"}, user_id="UPO").json()
    assert "was replaced with this one" in view_text(second["view"])
    [row] = responses(db)
    assert (row.satisfaction, row.user_id, row.anonymous) == (5, None, True)


def test_bad_answers_keep_the_modal_open_with_a_message_next_to_the_field(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    view = open_modal(bot, slack, "feedback M-042", "UQA")
    answer = bot.submit_view(view, {**ANSWER, "group": "acceptance_tester"}, user_id="UQA").json()
    assert answer == {"response_action": "errors",
                      "errors": {"accepts": "Acceptance testers: say whether you accept this milestone."}}
    missing = bot.submit_view(view, {"group": "beta_user"}, user_id="UQA").json()
    assert missing["response_action"] == "errors"
    assert set(missing["errors"]) == {"satisfaction", "nps"}
    assert responses(db) == []

    # Not a tester: the acceptance answer is ignored (the hint says so); a tester's counts.
    bot.submit_view(view, {**ANSWER, "accepts": "no"}, user_id="UQA")
    assert responses(db)[0].accepts is None
    view = open_modal(bot, slack, "feedback M-042", "UQA")
    bot.submit_view(view, {"group": "acceptance_tester", "accepts": "yes"}, user_id="UQA")
    assert (responses(db)[0].group, responses(db)[0].accepts) == ("acceptance_tester", True)


def test_the_same_submission_twice_saves_once(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    view = open_modal(bot, slack, "feedback M-042", "UQA")
    results = [answer.json() for answer in bot.submit_concurrently(view, ANSWER, user_id="UQA")]
    assert len(responses(db)) == 1
    # One of them saved (and thanked); the other found the submission already handled and just closed.
    assert sorted(r is None for r in results) == [False, True]
    assert not any("replaced" in json.dumps(r) for r in results)


def test_a_failed_save_keeps_the_input(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session], engine: Engine
) -> None:
    make_milestone(db)
    view = open_modal(bot, slack, "feedback M-042", "UQA")
    with hold_write_lock(engine, "feedback_responses"):
        answer = bot.submit_view(view, ANSWER, user_id="UQA").json()
    assert answer["response_action"] == "errors"
    assert "database was busy" in answer["errors"]["satisfaction"]
    assert responses(db) == []
    # The modal kept the input: pressing Send again works and saves it once.
    assert bot.submit_view(view, ANSWER, user_id="UQA").json()["response_action"] == "update"
    assert len(responses(db)) == 1


def _response_url_texts(slack: FakeSlack) -> list[str]:
    return [str(c.params.get("text")) for c in slack.calls_to("response_url")]


def test_request_dms_people_and_channel_members_skipping_those_who_answered_or_were_asked(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db, editors=("UEDITOR",))
    # Quinn already answered, anonymously: still skipped (found by the fingerprint, not the user id).
    view = open_modal(bot, slack, "feedback M-042", "UQA")
    bot.submit_view(view, {**ANSWER, "anonymous": ["anonymous"]}, user_id="UQA")

    assert bot.command("feedback request M-042 <@UPM|pat> <@UQA|quinn>", user_id="UEDITOR").status == 200
    slack.wait_for("response_url", 1)
    report = _response_url_texts(slack)[-1]
    assert "Asked 1 person for feedback on *M-042*: <@UPM>." in report
    assert "1 person skipped: they already answered." in report and "UQA" not in report  # anonymous: unnamed
    dms = slack.wait_for("chat.postMessage")
    assert [c.response["channel"] for c in dms] == ["DUPM"]
    assert "Give feedback" in json.dumps(dms[0].params["blocks"])
    asking = dms[0].params["blocks"][0]["text"]["text"]
    assert "<@UEDITOR> asks for your feedback on *M-042 · Checkout &lt;!channel&gt; &amp; co*" in asking

    # A channel: every member but the bot, the requester, who answered and who was asked already.
    bot.command("feedback request M-042 <#C0001|general>", user_id="UOWNER")
    slack.wait_for("response_url", 2)
    report = _response_url_texts(slack)[-1]
    asked = ["UEDITOR", "USTRANGER", "UADMIN", "USPONSOR", "UTECH", "UPO"]
    assert f"Asked 6 people for feedback on *M-042*: {', '.join(f'<@{u}>' for u in asked)}." in report
    assert "Skipped (that's you): <@UOWNER>." in report
    assert "1 person skipped: they already answered." in report and "UQA" not in report
    assert "Skipped (already asked): <@UPM>." in report
    dms = slack.wait_for("chat.postMessage", 7)
    assert sorted(c.response["channel"] for c in dms) == sorted(["DUPM", *(f"D{u}" for u in asked)])
    with db() as session:
        rows = session.scalars(select(FeedbackRequest).order_by(FeedbackRequest.id)).all()
        assert [r.user_id for r in rows] == ["UPM", *asked]
        assert all(r.dm_channel == f"D{r.user_id}" and r.dm_ts for r in rows)

    # Asking again sends nothing new.
    bot.command("feedback request M-042 <#C0001|general>", user_id="UOWNER")
    slack.wait_for("response_url", 3)
    assert "No one new was asked" in _response_url_texts(slack)[-1]
    assert len(slack.calls_to("chat.postMessage")) == 7


def test_request_is_for_owners_and_editors_and_reports_what_it_could_not_do(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    refused = bot.command("feedback request M-042 <@UPM|pat>", user_id="USTRANGER").json()
    assert refused["response_type"] == "ephemeral"
    assert "Only the owner and editors of M-042" in refused["text"]
    unreadable = bot.command("feedback request M-042 @pat", user_id="UOWNER").json()
    assert "I couldn't read `@pat`" in unreadable["text"]
    missing = bot.command("feedback request M-999 <@UPM|pat>", user_id="UOWNER").json()
    assert "No milestone `M-999`" in missing["text"]

    slack.fail_next("chat.postMessage", error="account_inactive")
    bot.command("feedback request M-042 <@UPM|pat> <#C0GONE|archived>", user_id="UOWNER")
    slack.wait_for("response_url")
    report = _response_url_texts(slack)[-1]
    assert "Could not DM <@UPM> (account_inactive)" in report
    assert "Could not read the members of <#C0GONE> (channel_not_found)" in report
    with db() as session:  # the failed DM frees the claim, so Pat can be asked later
        assert session.scalars(select(FeedbackRequest)).all() == []


def test_give_feedback_button_opens_the_modal_and_the_dm_shows_it_was_answered(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    bot.command("feedback request M-042 <@UTECH|tariq>", user_id="UOWNER")
    [dm] = slack.wait_for("chat.postMessage")
    message = slack.messages["DUTECH"][0]
    bot.block_action("feedback_give", value=message["blocks"][1]["elements"][0]["value"], user_id="UTECH",
                     message=message, channel_id="DUTECH")
    view = slack.wait_for("views.open")[0].response["view"]
    bot.submit_view(view, ANSWER, user_id="UTECH")
    update = slack.wait_for("chat.update")[0]
    assert update.params["channel"] == "DUTECH" and update.params["ts"] == dm.response["ts"]
    assert "You gave feedback on *M-042" in json.dumps(update.params["blocks"])
    assert responses(db)[0].user_id == "UTECH"


def _arrange_answers(db: sessionmaker[Session], milestone_id: int) -> None:
    """Six answers with known figures (worked out by hand in the tests below)."""
    answers = [  # satisfaction, nps, group, accepts, themes, comment
        (5, 10, "acceptance_tester", True, ["positive"], "Smooth rollout"),
        (4, 9, "acceptance_tester", True, ["positive", "feature_request"], "Want CSV export"),
        (3, 7, "beta_user", None, ["improvement"], "Login is slow"),
        (2, 3, "acceptance_tester", False, ["improvement"], "Crashes on <save>"),
        (4, 8, "business", None, [], None),
        (5, 9, "beta_user", None, ["positive"], "Love it"),
    ]
    base = datetime(2030, 1, 1, tzinfo=UTC)
    with db() as session, session.begin():
        for i, (sat, nps, group, accepts, themes, comment) in enumerate(answers):
            session.add(FeedbackResponse(
                milestone_id=milestone_id, respondent_hash=f"h{i}", user_id=None, anonymous=True,
                satisfaction=sat, nps=nps, group=group, accepts=accepts, themes=themes, comment=comment,
                submitted_at=base + timedelta(days=i), updated_at=base + timedelta(days=i)))


def test_metrics_match_values_worked_out_by_hand(db: sessionmaker[Session]) -> None:
    from bot.feedback.service import compute_metrics, metrics_for
    from models import FeedbackGroup, FeedbackTheme

    empty = compute_metrics([])
    assert (empty.count, empty.avg_satisfaction, empty.nps, empty.acceptance_rate) == (0, None, None, None)

    _arrange_answers(db, make_milestone(db))
    with db() as session:
        m = metrics_for(session, session.scalars(select(Milestone.id)).one())
    # Satisfaction: (5+4+3+2+4+5)/6 = 23/6 = 3.833… → 3.83.
    assert m.count == 6 and m.avg_satisfaction == Decimal("3.83")
    # Promoters (9–10): 10, 9, 9 = 3; detractors (0–6): 3 = 1; passives: 7, 8 = 2. NPS = (3−1)/6 = 33.3% → 33.
    assert (m.promoters, m.passives, m.detractors, m.nps) == (3, 2, 1, 33)
    # Acceptance testers: 3, of whom 2 accept → 66.7%.
    assert (m.acceptance_yes, m.acceptance_total, m.acceptance_rate) == (2, 3, Decimal("66.7"))
    assert m.by_group == {FeedbackGroup.ACCEPTANCE_TESTER: 3, FeedbackGroup.BETA_USER: 2,
                          FeedbackGroup.BUSINESS: 1, FeedbackGroup.OTHER: 0}
    # Themes with counts and up to three comments, newest first.
    assert [(t.theme, t.count, t.comments) for t in m.themes] == [
        (FeedbackTheme.POSITIVE, 3, ["Love it", "Want CSV export", "Smooth rollout"]),
        (FeedbackTheme.IMPROVEMENT, 2, ["Crashes on <save>", "Login is slow"]),
        (FeedbackTheme.FEATURE_REQUEST, 1, ["Want CSV export"]),
    ]


@pytest.mark.parametrize(("scores", "nps"), [
    ([10, 0], 0),          # one of each: 50 − 50
    ([9] + [7] * 7, 13),   # 1 promoter of 8: 12.5 → 13 (half up)
    ([0, 1, 2], -100),
    ([6, 7, 8, 9, 10], 20),  # (2 − 1)/5
])
def test_nps_is_promoters_minus_detractors_as_a_whole_percentage(scores: list[int], nps: int) -> None:
    from bot.feedback.service import compute_metrics

    answers = [FeedbackResponse(satisfaction=3, nps=s, group="other", themes=[]) for s in scores]
    assert compute_metrics(answers).nps == nps


def test_summary_shows_the_computed_figures_only_to_the_caller(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    milestone_id = make_milestone(db)
    empty = bot.command("feedback summary M-042", user_id="UOWNER").json()
    assert empty["response_type"] == "ephemeral"
    assert validate_blocks(empty["blocks"], "message") == []
    shown = json.dumps(empty["blocks"], ensure_ascii=False)
    assert "No responses yet" in shown
    assert "/ 5" not in shown and "NPS" not in shown and "0%" not in shown

    _arrange_answers(db, milestone_id)
    answer = bot.command("feedback summary M-042", user_id="UOWNER").json()
    assert answer["response_type"] == "ephemeral"
    assert validate_blocks(answer["blocks"], "message") == []
    shown = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "*Responses*\\n6" in shown
    assert "*Average satisfaction*\\n3.83 / 5" in shown
    assert "*NPS*\\n+33 (3 promoters · 2 passives · 1 detractor)" in shown
    assert "*Acceptance rate*\\n66.7% (2 of 3 acceptance testers accept)" in shown
    assert "*Positive feedback* — 3 answers" in shown
    assert "> Crashes on &lt;save&gt;" in shown  # comments are escaped

    refused = bot.command("feedback summary M-042", user_id="USTRANGER").json()
    assert "Only the owner and editors of M-042" in refused["text"]
    assert slack.calls_to("chat.postMessage") == []  # nothing went to a channel


def test_reminder_goes_once_after_the_set_days_to_those_who_have_not_answered(
    db: sessionmaker[Session], slack: FakeSlack, settings: Settings
) -> None:
    from bot.deps import make_deps
    from bot.feedback import jobs as feedback_reminders
    from bot.feedback.service import respondent_hash
    from bot.slack.client import make_web_client
    from bot.slack.jobs import JobContext
    from bot.slack.notifier import Notifier

    milestone_id = make_milestone(db)
    asked_at = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)  # a Monday
    with db() as session, session.begin():
        for user_id in ("UPM", "UQA", "USPONSOR"):
            session.add(FeedbackRequest(milestone_id=milestone_id, user_id=user_id, requested_by="UOWNER",
                                        requested_at=asked_at))
        # Quinn answered (anonymously: no user id, found by the fingerprint).
        session.add(FeedbackResponse(
            milestone_id=milestone_id, respondent_hash=respondent_hash(SECRET_KEY, TEAM_ID, milestone_id, "UQA"),
            user_id=None, anonymous=True, satisfaction=4, nps=8, group="other", themes=[]))

    settings = replace(settings, feedback_reminder_days=3)
    deps = make_deps(settings)
    client = make_web_client(settings)

    def sweep(now: datetime) -> list[str]:
        return feedback_reminders.run(JobContext(deps, client, Notifier(client), now))

    # Thursday 14:59 UTC: working time in New York, but a minute short of three days after the request.
    assert sweep(datetime(2030, 1, 10, 14, 59, tzinfo=UTC)) == []
    # Thursday 16:00 UTC: 11:00 for Pat in New York; 08:00 for Sonia in Los Angeles, before her work hours.
    lines = sweep(datetime(2030, 1, 10, 16, 0, tzinfo=UTC))
    assert lines == ["feedback reminder sent to UPM for M-042"]
    [dm] = slack.calls_to("chat.postMessage")
    assert dm.response["channel"] == "DUPM" and "A reminder" in json.dumps(dm.params["blocks"])
    # 18:00 UTC: 10:00 in Los Angeles; Pat is not reminded again, Quinn never (answered).
    assert sweep(datetime(2030, 1, 10, 18, 0, tzinfo=UTC)) == ["feedback reminder sent to USPONSOR for M-042"]
    assert sweep(datetime(2030, 1, 14, 18, 0, tzinfo=UTC)) == []
    assert sorted(c.response["channel"] for c in slack.calls_to("chat.postMessage")) == ["DUPM", "DUSPONSOR"]
    with db() as session:
        reminded = {r.user_id: r.reminded_at for r in session.scalars(select(FeedbackRequest))}
    assert reminded["UQA"] is None and reminded["UPM"] and reminded["USPONSOR"]
    deps.engine.dispose()


def test_app_home_lists_feedback_asked_of_you_until_you_answer(
    bot: SlackSender, slack: FakeSlack, db: sessionmaker[Session]
) -> None:
    make_milestone(db)
    bot.command("feedback request M-042 <@UTECH|tariq>", user_id="UOWNER")
    slack.wait_for("chat.postMessage")
    event = {"type": "app_home_opened", "user": "UTECH", "channel": "DUTECH", "tab": "home", "event_ts": "1.0"}
    bot.event(event, event_id="EvFeedbackHome")
    home = slack.wait_for("views.publish")[0].response["view"]
    assert "Feedback asked of you" in view_text(home)
    button = next(b["accessory"] for b in home["blocks"] if b.get("accessory", {}).get("action_id") == "feedback_give")
    bot.block_action("feedback_give", value=button["value"], user_id="UTECH", view=home)
    modal = slack.wait_for("views.open")[0].response["view"]
    bot.submit_view(modal, ANSWER, user_id="UTECH")
    refreshed = slack.wait_for("views.publish", 2)[-1].response["view"]
    assert "Feedback asked of you" not in view_text(refreshed)
