"""Canvases and chat.unfurl in the fake Slack, driven by slack_sdk over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.conftest import BOT_TOKEN, CHANNEL
from tests.fakeslack import MAX_CANVAS_MARKDOWN, FakeSlack

REPORT_URL = "https://bot.example.com/reports/M-042?rev=3"


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack.base_url, timeout=5)


def error_of(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


def md(text: str) -> dict[str, str]:
    return {"type": "markdown", "markdown": text}


def change(operation: str, text: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"operation": operation, **({"document_content": md(text)} if text is not None else {}), **extra}


def test_create_share_read_only_and_replace_in_place(client: WebClient, slack: FakeSlack) -> None:
    title = "M-042 · Customer Portal Beta — milestone report"
    canvas_id = client.canvases_create(title=title, document_content=md("# M-042\n\n- [ ] Ship"))["canvas_id"]
    client.canvases_access_set(canvas_id=canvas_id, access_level="read", channel_ids=[CHANNEL])
    client.canvases_edit(canvas_id=canvas_id, changes=[change("replace", "# M-042\n\n- [x] Ship")])
    client.canvases_edit(canvas_id=canvas_id, changes=[change("insert_at_end", "## Risks")])
    client.canvases_edit(canvas_id=canvas_id, changes=[change("insert_at_start", "> living report")])
    canvas = slack.canvases[canvas_id]
    assert canvas["title"] == title
    assert canvas["markdown"] == "> living report\n# M-042\n\n- [x] Ship\n## Risks"
    assert canvas["access"]["channels"] == {CHANNEL: "read"}
    assert [c["operation"] for c in canvas["edits"]] == ["replace", "insert_at_end", "insert_at_start"]
    assert len(slack.canvases) == 1  # edited, never recreated


@pytest.mark.parametrize(
    "changes",
    [[], [change("replace", "a"), change("replace", "b")], [change("rewrite", "a")], [change("replace")]],
)
def test_edit_takes_exactly_one_valid_change(client: WebClient, slack: FakeSlack, changes: list[Any]) -> None:
    canvas_id = client.canvases_create(document_content=md("start"))["canvas_id"]
    with pytest.raises(SlackApiError) as excinfo:
        client.canvases_edit(canvas_id=canvas_id, changes=changes)
    assert error_of(excinfo) == "invalid_arguments"
    assert slack.canvases[canvas_id]["markdown"] == "start"


def test_canvas_errors(client: WebClient, slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as missing:
        client.canvases_edit(canvas_id="F404", changes=[change("replace", "x")])
    assert error_of(missing) == "canvas_not_found"
    with pytest.raises(SlackApiError) as large:
        client.canvases_create(title="big", document_content=md("x" * (MAX_CANVAS_MARKDOWN + 1)))
    assert error_of(large) == "canvas_too_large"
    canvas_id = client.canvases_create(document_content=md("x" * MAX_CANVAS_MARKDOWN))["canvas_id"]
    with pytest.raises(SlackApiError) as grown:
        client.canvases_edit(canvas_id=canvas_id, changes=[change("insert_at_end", "one more")])
    assert error_of(grown) == "canvas_too_large"
    with pytest.raises(SlackApiError) as both:
        client.canvases_access_set(canvas_id=canvas_id, access_level="read", channel_ids=[CHANNEL],
                                   user_ids=["UOWNER"])
    assert error_of(both) == "invalid_parameters"
    with pytest.raises(SlackApiError) as unknown:
        client.canvases_access_set(canvas_id=canvas_id, access_level="read", channel_ids=["C404"])
    assert error_of(unknown) == "channel_not_found"
    client.canvases_delete(canvas_id=canvas_id)
    with pytest.raises(SlackApiError) as deleted:
        client.canvases_delete(canvas_id=canvas_id)
    assert error_of(deleted) == "canvas_not_found"


def test_locked_canvas_refuses_edits_until_released(client: WebClient, slack: FakeSlack) -> None:
    canvas_id = client.canvases_create(document_content=md("v1"))["canvas_id"]
    slack.lock_canvas(canvas_id, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.canvases_edit(canvas_id=canvas_id, changes=[change("replace", "v2")])
        assert error_of(excinfo) == "canvas_editing_locked"
    client.canvases_edit(canvas_id=canvas_id, changes=[change("replace", "v2")])
    assert slack.canvases[canvas_id]["markdown"] == "v2"


def test_free_plan_has_only_channel_canvases(client: WebClient, slack: FakeSlack) -> None:
    slack.free_plan = True
    with pytest.raises(SlackApiError) as standalone:
        client.canvases_create(title="M-042", document_content=md("# M-042"))
    assert error_of(standalone) == "free_teams_cannot_create_standalone_canvases"
    canvas_id = client.conversations_canvases_create(channel_id=CHANNEL, document_content=md("# M-042"))["canvas_id"]
    assert slack.canvas_for_channel(CHANNEL) == slack.canvases[canvas_id]
    with pytest.raises(SlackApiError) as again:
        client.conversations_canvases_create(channel_id=CHANNEL, document_content=md("# M-043"))
    assert error_of(again) == "channel_canvas_already_exists"
    client.canvases_edit(canvas_id=canvas_id, changes=[change("replace", "# M-042 v2")])
    assert slack.canvases[canvas_id]["markdown"] == "# M-042 v2"
    slack.reset()
    assert slack.free_plan is False and slack.canvases == {}


def test_unfurl_a_pasted_report_link(client: WebClient, slack: FakeSlack) -> None:
    ts = slack.add_user_message(CHANNEL, "UOWNER", f"see <{REPORT_URL}>")
    card = {"blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*M-042* · Draft · 1/4 approved"}},
        {"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "View report"}, "url": REPORT_URL}]},
    ]}
    client.chat_unfurl(channel=CHANNEL, ts=ts, unfurls={REPORT_URL: card})
    assert slack.unfurls == [{"channel": CHANNEL, "ts": ts, "unfurl_id": None, "source": None,
                              "unfurls": {REPORT_URL: card}}]
    client.chat_unfurl(unfurl_id="Uxx-1", source="composer", unfurls={REPORT_URL: card})
    assert slack.unfurls[-1]["unfurl_id"] == "Uxx-1"


def test_unfurl_errors(client: WebClient, slack: FakeSlack) -> None:
    ts = slack.add_user_message(CHANNEL, "UOWNER", f"<{REPORT_URL}>")
    bad = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}
    with pytest.raises(SlackApiError) as blocks:
        client.chat_unfurl(channel=CHANNEL, ts=ts, unfurls={REPORT_URL: bad})
    assert error_of(blocks) == "invalid_blocks"
    assert blocks.value.response["errors"] == [
        f"must be less than 3001 characters [json-pointer:/unfurls/{REPORT_URL}/blocks/0/text/text]"
    ]
    ok = {"blocks": [{"type": "divider"}]}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": CHANNEL, "ts": "1.000001", "unfurls": {REPORT_URL: ok}}, "cannot_find_message"),
        ({"channel": CHANNEL, "ts": ts, "unfurls": {"https://elsewhere.example": ok}}, "cannot_unfurl_message"),
        ({"unfurl_id": "U1", "source": "paste", "unfurls": {REPORT_URL: ok}}, "invalid_source"),
        ({"channel": CHANNEL, "ts": ts, "unfurls": {}}, "invalid_unfurls_format"),
        ({"unfurls": {REPORT_URL: ok}}, "missing_channel"),
    ]
    for args, error in cases:
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_unfurl(**args)
        assert error_of(excinfo) == error, args
    assert slack.unfurls == []


def test_channel_canvas_needs_a_known_channel(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_canvases_create(channel_id="C404", document_content=md("x"))
    assert error_of(excinfo) == "channel_not_found"
