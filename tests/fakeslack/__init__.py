"""A fake of Slack's Web API, served over real HTTP on loopback, for end-to-end tests.

The app under test points slack_sdk's ``WebClient(base_url=fake.base_url)`` at it, so the real client,
its serialisation and its retry handlers are exercised. Every request is recorded as a :class:`Call`.

Layout: ``blockkit/`` holds the Block Kit rules (pure functions, no server); ``protocol.py`` the wire
level (calls, Slack's error shape, parsing); ``core.py`` the shared state; ``server.py`` the HTTP server
and the faults that apply to every method; ``chat.py``, ``people.py``, ``views.py``, ``files.py`` and
``canvases.py`` the method handlers; ``fake.py`` puts them together.

What is modelled, and where it comes from (docs.slack.dev method pages and their error tables, the 2018
"truncating really long messages" changelog, and error bodies quoted in slackapi/bolt-js, bolt-python
and other projects' issues):

- Errors are HTTP 200 ``{"ok": false, "error": ...}``; 429 carries ``Retry-After`` and the body
  ``{"ok": false, "error": "ratelimited"}``. A missing token is ``not_authed``, a wrong one ``invalid_auth``.
- Block Kit problems in messages (chat.postMessage/postEphemeral/update, chat.unfurl) answer
  ``invalid_blocks`` with ``errors`` and ``response_metadata.messages`` lines shaped like Slack's own:
  ``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"`` (messages get an
  ``[ERROR] `` prefix). A ``blocks`` value that is not a JSON array is ``invalid_blocks_format``.
- Views: real Slack answers ``invalid_arguments`` for *every* view problem, block problems included
  (e.g. ``"[ERROR] no more than 10 items allowed [json-pointer:/view/blocks/13/fields]"``,
  ``"must define `submit` to use an `input` block in modals [json-pointer:/view/blocks/2/input]"``), so
  the fake does the same rather than splitting view-level and block-level codes. It also adds ``errors``
  (the same lines without the prefix) for convenience.
- Text over 40,000 chars is truncated, still posted, with warning ``message_truncated`` (the 2018
  changelog), not rejected. Text summed over a message's blocks above 12,000 chars answers
  ``msg_blocks_too_long`` for chat.* methods only: bolt-js#2867 reports the same blocks going through a
  response_url fine, and Slack's real threshold is fuzzy (12-13k).
- Message metadata: chat.postMessage/chat.update take ``metadata`` {event_type, event_payload}
  (``invalid_metadata_format`` if not an object, ``invalid_metadata_schema`` if the shape is wrong,
  ``metadata_too_large`` past 8,000 JSON characters: Slack names the error, not the number).
  conversations.history gives top-level messages newest first (``oldest``/``latest`` exclusive unless
  ``inclusive``, ``limit`` ≤ 999, cursor pages, ``has_more``) and includes ``metadata`` only with
  ``include_all_metadata``; thread replies appear only in conversations.replies (parent first).
  chat.update of a message the bot did not post is ``cant_update_message``.
- trigger_id: unknown -> ``invalid_trigger_id``, reused -> ``exchanged_trigger_id`` (what Slack really
  says, see bolt-js#1371/#1888), older than ``trigger_ttl`` -> ``expired_trigger_id``. A trigger is only
  consumed when the call succeeds. ``views.push`` past a stack of 3 -> ``push_limit_reached``.
- response_url: success is HTTP 200 with the plain-text body ``ok``; failures are modelled on incoming
  webhooks (HTTP 400, plain-text body such as ``invalid_blocks`` or ``no_text``).
- files_upload_v2: getUploadURLExternal -> raw POST of bytes to the upload URL (answered ``OK - <size>``,
  recorded as ``files.upload_bytes``) -> completeUploadExternal. Completing a file whose bytes never
  arrived answers ``file_not_found`` (a guess: Slack does not document this case). ``files.upload`` is
  retired: ``method_deprecated``. files.info (``file_not_found``) gives ``url_private(_download)`` on this
  server; a GET there needs ``Authorization: Bearer <bot token>``, else it is a 302 to an HTML sign-in
  page (status 200 once followed), which is how Slack answers unauthenticated downloads.
- People: users.info has ``team_id`` (another workspace's for Slack Connect people), ``is_admin``,
  ``is_owner``, ``is_bot``, ``deleted``, ``profile.email`` and, for Enterprise Grid, ``enterprise_user``
  {enterprise_id, is_admin, ...}. users.list gives the workspace's members (deleted ones and bots included,
  other workspaces' people not) ordered by id, in cursor pages (``response_metadata.next_cursor``, opaque
  ``user:<id>`` in base64; ``invalid_cursor``) of at most ``limit`` and 1,000, shorter when
  ``users_list_page_cap`` is set (Slack may send fewer than asked); without a limit a team of more than 500 is
  ``limit_required``. users.lookupByEmail answers ``users_not_found``. conversations.open
  with an unknown user is ``user_not_found`` (documented), with a deactivated one ``user_disabled``;
  chat.postMessage to an unknown user id is ``channel_not_found`` (what Slack says, bolt-python#565).
- Channels: C/G ids must have been ``add_channel``'d (``channel_not_found``); posting where the bot is not
  a member is ``not_in_channel``. A user id as channel opens that user's DM, whose id is ``"D" + user_id``;
  ``conversations.members`` lists the bot too, as Slack does. Ephemeral posts (to members only:
  ``user_not_in_channel``) go to ``fake.ephemeral``.
- ``views.push`` goes onto the stack of the modal named by ``new_trigger_id(view_id)``, else the last
  opened one; a modal the fake never opened is assumed open (hand-made test payloads).
- Canvases: canvases.create (``title``, ``document_content`` {type: markdown, markdown}, optional
  ``channel_id``), canvases.edit (exactly one change per call, else ``invalid_arguments``: "Only one
  operation per API call is currently supported"; ``replace`` without a section, ``insert_at_start``,
  ``insert_at_end``), canvases.access.set (``access_level`` read/write/owner, ``channel_ids`` xor
  ``user_ids``: ``invalid_parameters``), canvases.delete, conversations.canvases.create (one per channel:
  ``channel_canvas_already_exists``). Errors: ``canvas_not_found``, ``canvas_too_large`` (markdown over
  1 MiB, 1,048,576 characters), ``canvas_editing_locked`` (``fake.lock_canvas``). With
  ``fake.free_plan``: ``free_teams_cannot_create_standalone_canvases`` (a ``channel_id`` tabs it instead,
  once per channel: ``free_team_canvas_tab_already_exists``) and
  ``free_teams_cannot_edit_standalone_canvases``. Section operations (``section_id``, insert_before/after,
  delete) are not modelled: ``fake_does_not_model_sections``.
- chat.unfurl: ``channel``+``ts`` (the message must exist: ``cannot_find_message``, and hold each URL:
  ``cannot_unfurl_message``) or ``unfurl_id``+``source`` (composer/conversations_history:
  ``invalid_source``); ``unfurls`` a JSON object keyed by URL (``invalid_unfurls_format``), blocks
  checked like a message's. Accepted unfurls are in ``fake.unfurls``.
- Faults for every method: ``fail_next`` (429/5xx/error), ``drop_response`` (handled, then the
  connection closes unanswered), ``latency_ms``, ``set_rate_limit`` (per method or "*" for the
  workspace, sliding window, 429 + Retry-After until there is room) and ``rate_limit_per_channel``
  (seconds between chat.postMessage calls in one conversation).
- Not modelled: scopes, response_url use counts/expiry, real permalinks, files shared as messages
  (uploads land in :attr:`FakeSlack.files`, not in :attr:`FakeSlack.messages`), canvas sections and
  reading canvases back, Slack's per-method tiers (set them with ``set_rate_limit``), and Slack's long
  ``tz_label`` ("Eastern Standard Time": the fake gives zoneinfo's "EST").
"""

from tests.fakeslack.blockkit import (
    MAX_BLOCKS,
    MAX_MESSAGE_BLOCKS_TEXT,
    MAX_MESSAGE_TEXT,
    Surface,
    blocks_text_length,
    validate_blocks,
    validate_view,
)
from tests.fakeslack.canvases import MAX_CANVAS_MARKDOWN
from tests.fakeslack.fake import FakeSlack
from tests.fakeslack.protocol import Call

__all__ = [
    "MAX_BLOCKS",
    "MAX_CANVAS_MARKDOWN",
    "MAX_MESSAGE_BLOCKS_TEXT",
    "MAX_MESSAGE_TEXT",
    "Call",
    "FakeSlack",
    "Surface",
    "blocks_text_length",
    "validate_blocks",
    "validate_view",
]
