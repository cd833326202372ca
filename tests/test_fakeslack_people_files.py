"""People (users.info fields for access checks, users.lookupByEmail, unknown users) and files
(files.info, private downloads that need the bot token), through slack_sdk over HTTP."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.conftest import BOT_TOKEN
from tests.fakeslack import FakeSlack
from tests.harness import TEAM_ID


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack.base_url, timeout=5)


def error_of(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # surface the 302 itself


def test_users_info_tells_workspace_admin_owner_and_enterprise(client: WebClient, slack: FakeSlack) -> None:
    slack.add_user("UOUTSIDER", name="Other Admin", is_admin=True, team_id="T_OTHER")
    slack.add_user("UORG", name="Grid Admin", enterprise_id="E0001", enterprise_admin=True)
    slack.add_user("UBOSS", name="Boss", is_owner=True, email="boss@example.com")
    outsider = client.users_info(user="UOUTSIDER")["user"]
    assert (outsider["team_id"], outsider["is_admin"]) == ("T_OTHER", True)
    assert "enterprise_user" not in outsider
    local = client.users_info(user="UOWNER")["user"]
    assert (local["team_id"], local["is_admin"], local["is_owner"], local["is_bot"]) == (TEAM_ID, False, False, False)
    grid = client.users_info(user="UORG")["user"]["enterprise_user"]
    assert (grid["enterprise_id"], grid["is_admin"]) == ("E0001", True)
    boss = client.users_info(user="UBOSS")["user"]
    assert boss["is_owner"] is True and boss["profile"]["email"] == "boss@example.com"
    assert client.users_info(user="UBOT")["user"]["is_bot"] is True


def test_lookup_by_email(client: WebClient, slack: FakeSlack) -> None:
    slack.add_user("UMAIL", name="Mai L", email="Mai.L@example.com")
    assert client.users_lookupByEmail(email="mai.l@example.com")["user"]["id"] == "UMAIL"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_lookupByEmail(email="nobody@example.com")
    assert error_of(excinfo) == "users_not_found"


def test_unknown_user_ids_are_refused_like_slack(client: WebClient, slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as opened:
        client.conversations_open(users="UNOBODY")
    assert error_of(opened) == "user_not_found"
    with pytest.raises(SlackApiError) as posted:
        client.chat_postMessage(channel="UNOBODY", text="hi")
    assert error_of(posted) == "channel_not_found"
    with pytest.raises(SlackApiError) as group:
        client.conversations_open(users="UOWNER,UNOBODY")
    assert error_of(group) == "user_not_found"
    assert slack.messages == {}


def test_files_info_and_download_with_the_bot_token(client: WebClient, slack: FakeSlack) -> None:
    content = "# M-042 · Beta\r\n\n| a | b |\n".encode() + "‚úÖ".encode()
    file_id = slack.add_file("M-042.md", content, user="UOWNER")
    info = client.files_info(file=file_id)["file"]
    assert (info["name"], info["filetype"], info["user"]) == ("M-042.md", "markdown", "UOWNER")
    assert info["size"] == len(content)
    url = info["url_private_download"]
    assert url.startswith(slack.root_url)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {BOT_TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.read() == content
    assert slack.calls_to("files.download")[-1].response == {"ok": True, "size": len(content)}


def test_download_without_the_token_is_a_sign_in_page(slack: FakeSlack, client: WebClient) -> None:
    url = client.files_info(file=slack.add_file("x.md", b"# x"))["file"]["url_private_download"]
    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(_NoRedirect).open(url, timeout=5)
    assert redirect.value.code == 302 and "/signin" in redirect.value.headers["Location"]
    # A client that follows redirects gets 200 and HTML, not the file: check the content type.
    with urllib.request.urlopen(url, timeout=5) as followed:
        assert followed.status == 200 and followed.headers["Content-Type"].startswith("text/html")
        assert b"# x" not in followed.read()
    wrong = urllib.request.Request(url, headers={"Authorization": "Bearer xoxb-wrong"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.build_opener(_NoRedirect).open(wrong, timeout=5)


def test_files_info_unknown_file_and_uploaded_files(client: WebClient, slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.files_info(file="F404")
    assert error_of(excinfo) == "file_not_found"
    uploaded = client.files_upload_v2(channel="C0001", content="report", filename="M-042.md")["file"]["id"]
    assert client.files_info(file=uploaded)["file"]["channels"] == ["C0001"]


def _listing(client: WebClient, **kwargs: object) -> list[list[str]]:
    """Every page of users.list, as lists of ids, following next_cursor as Slack's pagination says."""
    pages, cursor = [], None
    while True:
        page = client.users_list(cursor=cursor, **kwargs)
        pages.append([u["id"] for u in page["members"]])
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            return pages


def test_users_list_pages_members_with_an_opaque_cursor(client: WebClient, slack: FakeSlack) -> None:
    slack.add_user("UZGONE", name="Gone", deleted=True)
    slack.add_user("UZOTHER", name="Guest", team_id="T_OTHER")  # a Slack Connect person: not a member here
    everyone = sorted(u for u, info in slack.users.items() if info["team_id"] == TEAM_ID)
    pages = _listing(client, limit=3)
    assert [u for page in pages for u in page] == everyone  # by id, each once, the bot and the deleted too
    assert all(len(page) == 3 for page in pages[:-1]) and "UZOTHER" not in everyone
    first = client.users_list(limit=2)
    user = first["members"][0]
    assert {"id", "team_id", "name", "real_name", "deleted", "is_bot", "tz", "profile"} <= user.keys()
    assert base64.b64decode(first["response_metadata"]["next_cursor"]).decode().startswith("user:")
    assert "cache_ts" in first.data
    slack.users_list_page_cap = 2  # Slack may send fewer than asked: only the cursor says "more"
    assert {len(page) for page in _listing(client, limit=5)} == {2} | ({len(everyone) % 2} - {0})
    assert [u for page in _listing(client, limit=5) for u in page] == everyone
    assert [u for page in _listing(client) for u in page] == everyone  # no limit: everyone, in a small team
    for user_id in ("UZGONE", "UZOTHER"):
        slack.users.pop(user_id)  # the fake keeps its workspace across tests


def test_users_list_refuses_a_bad_cursor_and_an_unlimited_call_in_a_large_team(
        client: WebClient, slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as bad:
        client.users_list(cursor="not-a-cursor", limit=10)
    assert error_of(bad) == "invalid_cursor"
    for n in range(1001):  # a large team: past 500 a call needs a limit, and a page holds 1,000 at most
        slack.add_user(f"UZMANY{n:04}", name=f"many{n}")
    try:
        with pytest.raises(SlackApiError) as unlimited:
            client.users_list()
        assert error_of(unlimited) == "limit_required"
        assert len(client.users_list(limit=5000)["members"]) == 1000  # a page holds at most 1,000
    finally:
        for n in range(1001):
            slack.users.pop(f"UZMANY{n:04}", None)
