"""The fake Slack Web API, driven by the real slack_sdk clients over HTTP."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ConversationSelectElement,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    ImageBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    OptionGroup,
    OverflowMenuElement,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View
from slack_sdk.webhook import WebhookClient

from tests.fakeslack import Call, FakeSlack, validate_blocks, validate_view

TOKEN = "xoxb-fake"
CHANNEL = "C0001"
OUTSIDE = "C0OUT"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeSlack) -> FakeSlack:
    server.reset()
    server.trigger_ttl = 3.0
    server.rate_limit_per_channel = None
    server.add_user("UOWNER", name="Olivia Owner", tz="America/New_York")
    server.add_user("UTOKYO", name="Tomo", tz="Asia/Tokyo", is_admin=True)
    server.add_user("UGONE", name="Gone", deleted=True)
    server.add_channel(CHANNEL, members=["UOWNER", "UTOKYO"], name="general")
    server.add_channel(OUTSIDE, members=["UOWNER"], bot_is_member=False, name="elsewhere")
    return server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.base_url, timeout=5)


def api_error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> dict[str, Any]:
    return dict(excinfo.value.response.data)  # type: ignore[arg-type]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def modal(title: str = "Edit milestone", **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": [section("hi")], **extra}


# ---- auth, chat ------------------------------------------------------------------------------------


def test_wrong_or_missing_token_is_refused_like_slack(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=fake.base_url).chat_postMessage(channel=CHANNEL, text="hi")
    assert api_error(wrong) == {"ok": False, "error": "invalid_auth"}
    assert wrong.value.response.status_code == 200
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake.base_url).auth_test()
    assert api_error(missing)["error"] == "not_authed"
    assert fake.messages == {}
    assert [c.method for c in fake.calls] == ["chat.postMessage", "auth.test"]


def test_auth_test_and_unknown_method(client: WebClient, fake: FakeSlack) -> None:
    assert client.auth_test()["user_id"] == "UBOT"
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMessagee", params={"channel": CHANNEL})
    assert api_error(excinfo)["error"] == "unknown_method"


def test_post_then_update_round_trip(client: WebClient, fake: FakeSlack) -> None:
    first = client.chat_postMessage(channel=CHANNEL, text="M-042 created", blocks=[section("*M-042*")])
    second = client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=first["ts"])
    assert float(second["ts"]) > float(first["ts"])
    assert first["channel"] == CHANNEL and first["message"]["user"] == "UBOT"

    call = fake.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == [section("*M-042*")]  # decoded from the form body
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.response["ok"] is True

    updated = client.chat_update(channel=CHANNEL, ts=first["ts"], text="M-042 renamed", blocks=[section("new")])
    assert updated["ts"] == first["ts"]
    stored = fake.messages[CHANNEL]
    assert [m["text"] for m in stored] == ["M-042 renamed", "reply"]
    assert stored[0]["blocks"] == [section("new")]
    assert stored[1]["thread_ts"] == first["ts"]

    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    assert api_error(excinfo)["error"] == "message_not_found"
    link = client.chat_getPermalink(channel=CHANNEL, message_ts=first["ts"])["permalink"]
    assert CHANNEL in link


def test_channels_must_exist_and_have_the_bot(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as outside:
        client.chat_postMessage(channel=OUTSIDE, text="hi")
    assert api_error(outside)["error"] == "not_in_channel"
    with pytest.raises(SlackApiError) as unknown:
        client.chat_postMessage(channel="C404", text="hi")
    assert api_error(unknown)["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as empty, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # slack_sdk warns about the missing text before sending
        client.chat_postMessage(channel=CHANNEL)
    assert api_error(empty)["error"] == "no_text"


def test_dm_by_user_id_or_conversations_open(client: WebClient, fake: FakeSlack) -> None:
    dm = client.conversations_open(users="UOWNER")["channel"]["id"]
    assert dm.startswith("D") and client.conversations_open(users="UOWNER")["channel"]["id"] == dm
    assert client.chat_postMessage(channel="UOWNER", text="digest")["channel"] == dm
    client.chat_postMessage(channel=dm, text="again")
    assert [m["text"] for m in fake.messages[dm]] == ["digest", "again"]
    with pytest.raises(SlackApiError) as gone:
        client.conversations_open(users="UGONE")
    assert api_error(gone)["error"] == "user_disabled"


def test_ephemeral_needs_a_member(client: WebClient, fake: FakeSlack) -> None:
    client.chat_postEphemeral(channel=CHANNEL, user="UOWNER", text="only you")
    assert fake.ephemeral[CHANNEL][0]["to_user"] == "UOWNER"
    assert CHANNEL not in fake.messages
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postEphemeral(channel=CHANNEL, user="USTRANGER", text="x")
    assert api_error(excinfo)["error"] == "user_not_in_channel"


def test_long_text_is_truncated_with_a_warning(client: WebClient, fake: FakeSlack) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        response = client.chat_postMessage(channel=CHANNEL, text="x" * 40_010)
    assert response["response_metadata"]["warnings"] == ["message_truncated"]
    assert len(fake.messages[CHANNEL][0]["text"]) == 40_000


# ---- Block Kit limits ------------------------------------------------------------------------------


def test_51_blocks_are_invalid_blocks(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="t", blocks=[section(f"{i}") for i in range(51)])
    body = api_error(excinfo)
    assert body["error"] == "invalid_blocks"
    assert body["errors"] == ["no more than 50 items allowed [json-pointer:/blocks]"]
    assert body["response_metadata"]["messages"] == ["[ERROR] no more than 50 items allowed [json-pointer:/blocks]"]
    assert fake.messages == {}
    client.chat_postMessage(channel=CHANNEL, text="t", blocks=[section(f"{i}") for i in range(50)])


def test_3001_char_section_is_invalid_blocks(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="t", blocks=[section("x" * 3001)])
    assert api_error(excinfo)["errors"] == ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
    client.chat_postMessage(channel=CHANNEL, text="t", blocks=[section("x" * 3000)])


def test_too_much_text_across_blocks_is_msg_blocks_too_long(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="t", blocks=[section("x" * 3000) for _ in range(5)])
    assert api_error(excinfo)["error"] == "msg_blocks_too_long"
    client.chat_postMessage(channel=CHANNEL, text="t", blocks=[section("x" * 3000) for _ in range(4)])


def test_real_block_kit_built_with_slack_sdk_models_passes() -> None:
    options = [Option(text=f"Option {i}", value=f"v{i}") for i in range(100)]
    blocks = [
        HeaderBlock(text="M-042 · Beta" + "!" * 130),
        SectionBlock(
            block_id="summary",
            text=MarkdownTextObject(text="*Status* :large_green_circle:"),
            fields=[MarkdownTextObject(text=f"*F{i}*") for i in range(10)],
            accessory=OverflowMenuElement(
                action_id="more", options=[Option(text="Edit", value="edit"), Option(text="Delete", value="del")]
            ),
        ),
        DividerBlock(),
        ActionsBlock(
            block_id="actions",
            elements=[
                ButtonElement(text="x" * 75, action_id="approve", value="v" * 2000, style="primary"),
                StaticSelectElement(
                    action_id="pick", placeholder="Pick", options=options, initial_option=options[3]
                ),
                StaticMultiSelectElement(
                    action_id="groups",
                    option_groups=[OptionGroup(label="G", options=options[:5])],
                    initial_options=[options[1]],
                ),
                UserSelectElement(action_id="owner", placeholder="Owner"),
                ConversationSelectElement(action_id="channel", placeholder="Channel"),
                DatePickerElement(action_id="due", initial_date="2024-02-29"),
            ],
        ),
        ContextBlock(elements=[MarkdownTextObject(text="ctx"), PlainTextObject(text="plain")]),
        ImageBlock(image_url="https://example.com/x.png", alt_text="chart"),
    ]
    as_dicts = [b.to_dict() for b in blocks]
    assert validate_blocks(as_dicts, "message") == []
    inputs = [
        InputBlock(
            block_id="name",
            label="Name",
            hint="Short",
            element=PlainTextInputElement(action_id="v", max_length=3000, min_length=1, initial_value="M"),
        ),
        InputBlock(
            block_id="kind",
            label="Kind",
            element=RadioButtonsElement(action_id="v", options=options[:10], initial_option=options[2]),
        ),
        InputBlock(
            block_id="checks",
            label="Checks",
            optional=True,
            element=CheckboxesElement(action_id="v", options=options[:10], initial_options=options[:2]),
        ),
    ]
    view = View(
        type="modal",
        callback_id="milestone_new",
        title="x" * 24,
        submit="Save",
        close="Cancel",
        private_metadata="m" * 3000,
        blocks=[*blocks, *inputs],
    )
    assert validate_view(view.to_dict()) == []
    home = View(type="home", blocks=[b.to_dict() for b in blocks] * 14)  # 98 blocks, ids made unique below
    home_blocks = [{k: v for k, v in b.items() if k != "block_id"} for b in home.to_dict()["blocks"]]
    assert validate_view({"type": "home", "blocks": home_blocks}) == []


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}, "less than 151 characters"),
        ({"type": "header", "text": {"type": "mrkdwn", "text": "h"}}, 'must be "plain_text"'),
        ({"type": "section", "text": {"type": "mrkdwn", "text": ""}}, "more than 0 characters"),
        ({"type": "section", "text": {"type": "markdown", "text": "x"}}, "must be one of"),
        ({"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}, "additional property: emoji"),
        ({"type": "section"}, "either `text` or `fields`"),
        ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}, "no more than 10 items"),
        ({"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}, "less than 2001"),
        ({"type": "carousel"}, "unsupported type: carousel"),
        ({"type": "divider", "block_id": "b" * 256}, "less than 256"),
        ({"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}]},
         "less than 76"),
        ({"type": "actions", "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x"}, "value": "v" * 2001}
        ]}, "less than 2001"),
        ({"type": "actions", "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x"}},
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "y"}},
        ]}, "duplicate action_id: a"),
        ({"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x"}}] * 26},
         "no more than 25 items"),
        ({"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x"},
                                           "action_Id": "typo"}]}, "invalid additional property: action_Id"),
        ({"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}, "no more than 10 items"),
        ({"type": "actions", "elements": [{"type": "static_select", "action_id": "s", "options": [
            {"text": {"type": "plain_text", "text": "o"}, "value": str(i)} for i in range(101)]}]},
         "no more than 100 items"),
        ({"type": "actions", "elements": [{"type": "static_select", "options": [
            {"text": {"type": "plain_text", "text": "o" * 76}, "value": "v" * 151}]}]}, "less than 76"),
        ({"type": "actions", "elements": [{"type": "static_select", "options": [
            {"text": {"type": "plain_text", "text": "o"}, "value": "v"}],
            "initial_option": {"text": {"type": "plain_text", "text": "o"}, "value": "w"}}]},
         "must match one of the provided options"),
        ({"type": "actions", "elements": [{"type": "overflow", "options": [
            {"text": {"type": "plain_text", "text": "o"}, "value": "v"}]}]}, "at least 2 items"),
        ({"type": "actions", "elements": [{"type": "datepicker", "initial_date": "2024-02-30"}]}, "YYYY-MM-DD"),
        ({"type": "actions", "elements": [{"type": "checkboxes", "options": [
            {"text": {"type": "mrkdwn", "text": "o"}, "value": str(i)} for i in range(11)]}]},
         "no more than 10 items"),
        ({"type": "input", "label": {"type": "plain_text", "text": "L"}}, "missing required field: element"),
        ({"type": "input", "label": {"type": "plain_text", "text": "L" * 2001},
          "element": {"type": "plain_text_input"}}, "less than 2001"),
        ({"type": "input", "label": {"type": "plain_text", "text": "L"},
          "element": {"type": "plain_text_input", "max_length": 3001}}, "between 1 and 3000"),
        ({"type": "input", "label": {"type": "plain_text", "text": "L"},
          "element": {"type": "plain_text_input", "max_length": 5, "initial_value": "toolong"}}, "less than 6"),
        ({"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": {"type": "button"}},
         "unsupported type: button"),
        ({"type": "table", "rows": [[{"type": "raw_text", "text": "c"}]] * 101}, "no more than 100 items"),
        ({"type": "table", "rows": [[{"type": "raw_text", "text": "c"}] * 21]}, "no more than 20 items"),
    ],
)
def test_block_limits(block: dict[str, Any], expected: str) -> None:
    errors = validate_blocks([block], "message")
    assert any(expected in e for e in errors), errors


def test_surface_rules() -> None:
    table = {"type": "table", "rows": [[{"type": "raw_text", "text": "c"}]]}
    assert validate_blocks([table], "message") == []
    assert "only one table" in validate_blocks([table, table], "message")[0]
    assert "unsupported type: table" in validate_blocks([table], "modal")[0]
    assert validate_blocks([section("s")] * 100, "home") == []
    assert "no more than 100 items" in validate_blocks([section("s")] * 101, "modal")[0]
    dup = [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}]
    assert "duplicate block_id: a" in validate_blocks(dup, "message")[0]


def test_view_limits() -> None:
    assert validate_view(modal("x" * 25)) == ["must be less than 25 characters [json-pointer:/view/title/text]"]
    input_block = {"type": "input", "label": {"type": "plain_text", "text": "L"},
                   "element": {"type": "plain_text_input"}}
    assert "must define `submit`" in validate_view({**modal(), "blocks": [input_block]})[0]
    assert validate_view({**modal(), "blocks": [input_block], "submit": {"type": "plain_text", "text": "Save"}}) == []
    assert "less than 25" in validate_view(modal(close={"type": "plain_text", "text": "c" * 25}))[0]
    assert "less than 3001" in validate_view(modal(private_metadata="p" * 3001))[0]
    assert "less than 256" in validate_view(modal(callback_id="c" * 256))[0]
    assert "less than 256" in validate_view(modal(external_id="e" * 256))[0]
    assert validate_view({"type": "home", "blocks": []}) == []


# ---- views -----------------------------------------------------------------------------------------


def test_modal_title_over_24_chars_is_invalid_arguments(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=fake.new_trigger_id(), view=modal("x" * 25))
    body = api_error(excinfo)
    assert body["error"] == "invalid_arguments"
    assert body["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    assert fake.views == {}


def test_trigger_ids_expire_and_are_single_use(client: WebClient, fake: FakeSlack) -> None:
    trigger = fake.new_trigger_id()
    opened = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert opened["id"].startswith("V") and fake.views[opened["id"]]["title"]["text"] == "Edit milestone"
    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id=trigger, view=modal())
    assert api_error(reused)["error"] == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as unknown:
        client.views_open(trigger_id="123.456.abc", view=modal())
    assert api_error(unknown)["error"] == "invalid_trigger_id"
    fake.trigger_ttl = 0.05
    late = fake.new_trigger_id()
    time.sleep(0.1)
    with pytest.raises(SlackApiError) as expired:
        client.views_open(trigger_id=late, view=modal())
    assert api_error(expired)["error"] == "expired_trigger_id"


def test_push_limit_is_three_views(client: WebClient, fake: FakeSlack) -> None:
    root = client.views_open(trigger_id=fake.new_trigger_id(), view=modal("Root"))["view"]
    second = client.views_push(trigger_id=fake.new_trigger_id(root["id"]), view=modal("Two"))["view"]
    third = client.views_push(trigger_id=fake.new_trigger_id(second["id"]), view=modal("Three"))["view"]
    assert third["root_view_id"] == root["id"] and third["previous_view_id"] == second["id"]
    with pytest.raises(SlackApiError) as excinfo:
        client.views_push(trigger_id=fake.new_trigger_id(third["id"]), view=modal("Four"))
    assert api_error(excinfo)["error"] == "push_limit_reached"


def test_views_update_by_id_or_external_id_with_hash(client: WebClient, fake: FakeSlack) -> None:
    opened = client.views_open(trigger_id=fake.new_trigger_id(), view=modal("Loading…", external_id="m-42"))
    view_id, first_hash = opened["view"]["id"], opened["view"]["hash"]
    updated = client.views_update(view_id=view_id, hash=first_hash, view=modal("Loaded", external_id="m-42"))
    assert updated["view"]["id"] == view_id and updated["view"]["hash"] != first_hash
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=view_id, hash=first_hash, view=modal("Again"))
    assert api_error(stale)["error"] == "hash_conflict"
    client.views_update(external_id="m-42", view=modal("By external id"))
    assert fake.views[view_id]["title"]["text"] == "By external id"
    with pytest.raises(SlackApiError) as missing:
        client.views_update(view_id="VNOPE", view=modal())
    assert api_error(missing)["error"] == "not_found"


def test_views_publish_home(client: WebClient, fake: FakeSlack) -> None:
    first = client.views_publish(user_id="UOWNER", view={"type": "home", "blocks": [section("home")]})["view"]
    again = client.views_publish(user_id="UOWNER", view={"type": "home", "blocks": [section("v2")]})["view"]
    assert first["id"] == again["id"] and fake.views[first["id"]]["blocks"] == [section("v2")]
    with pytest.raises(SlackApiError) as excinfo:
        client.views_publish(user_id="UOWNER", view=modal())
    assert api_error(excinfo)["error"] == "invalid_arguments"


# ---- files -----------------------------------------------------------------------------------------


def test_files_upload_v2_into_a_thread(client: WebClient, fake: FakeSlack) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="Report for M-042")
    content = "# M-042\r\n\n| a | b |\n" + "é" * 10 + "\n--boundary-looking line\n"
    response = client.files_upload_v2(
        channel=CHANNEL, thread_ts=parent["ts"], content=content, filename="M-042.md", title="M-042 report",
        initial_comment="Full report",
    )
    file_id = response["file"]["id"]
    assert response["file"]["title"] == "M-042 report" and response["file"]["permalink"]
    stored = fake.files[file_id]
    assert stored["content"] == content.encode()
    assert (stored["filename"], stored["channel_id"], stored["thread_ts"], stored["initial_comment"]) == (
        "M-042.md", CHANNEL, parent["ts"], "Full report"
    )
    assert [c.method for c in fake.calls[1:]] == [
        "files.getUploadURLExternal", "files.upload_bytes", "files.completeUploadExternal"
    ]
    binary = bytes(range(256)) * 3
    response = client.files_upload_v2(channel=CHANNEL, file=binary, filename="blob.bin")
    assert fake.files[response["file"]["id"]]["content"] == binary


def test_files_upload_v2_needs_the_bot_in_the_channel(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.files_upload_v2(channel=OUTSIDE, content="x", filename="x.md")
    assert api_error(excinfo)["error"] == "not_in_channel"
    assert fake.files == {}


def test_completing_an_upload_without_bytes_fails(client: WebClient, fake: FakeSlack) -> None:
    file_id = client.files_getUploadURLExternal(filename="x.md", length=3)["file_id"]
    with pytest.raises(SlackApiError) as excinfo:
        client.files_completeUploadExternal(files=[{"id": file_id, "title": "x"}], channel_id=CHANNEL)
    assert api_error(excinfo)["error"] == "file_not_found"


def test_files_upload_v1_is_retired(client: WebClient) -> None:
    with warnings.catch_warnings(), pytest.raises(SlackApiError) as excinfo:
        warnings.simplefilter("ignore")
        client.files_upload(channels=CHANNEL, content="x", filename="x.md")
    assert api_error(excinfo)["error"] == "method_deprecated"


# ---- failures, rate limits -------------------------------------------------------------------------


def test_injected_429_is_retried_after_retry_after(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    client = WebClient(token=TOKEN, base_url=fake.base_url, retry_handlers=[RateLimitErrorRetryHandler()])
    started = time.monotonic()
    assert client.chat_postMessage(channel=CHANNEL, text="hi")["ok"]
    first, second = fake.calls_to("chat.postMessage")
    assert first.response == {"ok": False, "error": "ratelimited"}
    assert second.response["ok"] is True
    assert 1.0 <= second.at - first.at < 2.5  # Retry-After: 1 plus the handler's jitter (< 1 s)
    assert time.monotonic() - started >= 1.0
    assert len(fake.messages[CHANNEL]) == 1


def test_429_without_a_retry_handler_surfaces(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("users.info", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="UOWNER")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert client.users_info(user="UOWNER")["ok"]


def test_injected_500_then_ok_and_200_errors(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="hi")
    assert excinfo.value.response.status_code == 500
    assert api_error(excinfo)["error"] == "internal_error"
    fake.fail_next("chat.postMessage", error="fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel=CHANNEL, text="hi")
    client.chat_postMessage(channel=CHANNEL, text="hi")
    assert len(fake.messages[CHANNEL]) == 1


def test_strict_per_channel_rate_limit(client: WebClient, fake: FakeSlack) -> None:
    fake.rate_limit_per_channel = 1.0
    client.chat_postMessage(channel=CHANNEL, text="one")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="two")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "1"
    client.chat_postMessage(channel="UOWNER", text="other channel is fine")


# ---- users, conversations --------------------------------------------------------------------------


def test_users_info_time_zone(client: WebClient, fake: FakeSlack) -> None:
    user = client.users_info(user="UTOKYO")["user"]
    assert (user["tz"], user["tz_offset"], user["is_admin"]) == ("Asia/Tokyo", 9 * 3600, True)
    assert user["profile"]["real_name"] == "Tomo" and user["tz_label"]
    assert client.users_info(user="UOWNER")["user"]["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert client.users_info(user="UGONE")["user"]["deleted"] is True
    fake.add_user("UFIXED", tz="Europe/London", tz_offset=3600)
    assert client.users_info(user="UFIXED")["user"]["tz_offset"] == 3600
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="UNOBODY")
    assert api_error(excinfo)["error"] == "user_not_found"
    query = urllib.parse.urlencode({"user": "UTOKYO", "token": TOKEN})
    with urllib.request.urlopen(f"{fake.base_url}users.info?{query}") as response:  # plain GET works too
        assert json.load(response)["user"]["tz"] == "Asia/Tokyo"


def test_conversations_members_paginates(client: WebClient, fake: FakeSlack) -> None:
    fake.add_channel("CBIG", members=[f"U{i:03d}" for i in range(5)])
    pages = [page["members"] for page in client.conversations_members(channel="CBIG", limit=2)]
    assert pages == [["U000", "U001"], ["U002", "U003"], ["U004", "UBOT"]]
    assert client.conversations_info(channel=OUTSIDE)["channel"]["is_member"] is False


# ---- response_url, wait_for ------------------------------------------------------------------------


def test_response_url_posts_are_recorded_and_validated(fake: FakeSlack) -> None:
    url = fake.new_response_url()
    webhook = WebhookClient(url)
    ok = webhook.send(text="Saved", blocks=[section("Saved *M-042*")], response_type="ephemeral")
    assert (ok.status_code, ok.body) == (200, "ok")
    call = fake.wait_for("response_url")[0]
    assert call.params["blocks"] == [section("Saved *M-042*")] and call.params["response_type"] == "ephemeral"
    bad = webhook.send(text="x", blocks=[section("x" * 3001)])
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    assert fake.calls_to("response_url")[1].response["ok"] is False
    assert WebhookClient(fake.root_url + "/actions/nope").send(text="x").status_code == 404
    fake.fail_next("response_url", status=500)
    assert webhook.send(text="x").status_code == 500
    assert webhook.send(text="x").status_code == 200


def test_wait_for_reports_what_it_saw(client: WebClient, fake: FakeSlack) -> None:
    client.auth_test()
    assert fake.wait_for("auth.test", where=lambda c: c.response["ok"])[0].method == "auth.test"
    with pytest.raises(AssertionError, match=r"calls seen: \['auth.test'\]"):
        fake.wait_for("chat.postMessage", timeout=0.05)


def test_reset_keeps_people_and_channels(client: WebClient, fake: FakeSlack) -> None:
    client.chat_postMessage(channel=CHANNEL, text="x")
    fake.fail_next("auth.test", error="fatal_error")
    fake.reset()
    assert fake.calls == [] and fake.messages == {}
    assert client.auth_test()["ok"]
    assert client.users_info(user="UOWNER")["ok"] and client.chat_postMessage(channel=CHANNEL, text="y")["ok"]
    assert isinstance(fake.calls[0], Call)
