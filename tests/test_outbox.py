"""The one send-once path against the fake Slack over HTTP: dropped answers, refusals, 429s, pacing, takeovers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core import deliveries
from bot.deps import Deps, make_deps
from bot.settings import Settings
from bot.slack import outbox
from bot.slack.client import make_web_client
from bot.slack.pacing import SendGate
from models import Delivery, DeliveryStatus, utcnow
from tests.fakeslack import FakeSlack

DAY = date(2026, 3, 2)


@pytest.fixture
def deps(settings: Settings, db: sessionmaker[Session]) -> Iterator[Deps]:
    deps = make_deps(settings)
    yield deps
    deps.engine.dispose()


def owe(deps: Deps, recipient: str, subject: str = "s", text: str = "Hello", now: datetime | None = None) -> int:
    with deps.session() as session:
        delivery_id = deliveries.owe(session, kind="test_note", recipient_id=recipient, subject=subject,
                                     local_date=DAY, now=now or utcnow(), op="post", target=recipient,
                                     payload={"text": text, "blocks": None})
    assert delivery_id is not None
    return delivery_id


def status(deps: Deps, delivery_id: int) -> Delivery:
    with deps.read() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        session.expunge(delivery)
        return delivery


def posts_to(slack: FakeSlack, user: str) -> int:
    return len(slack.messages.get(f"D{user}", []))


def test_owing_the_same_message_twice_records_it_once(deps: Deps) -> None:
    owe(deps, "UEDITOR")
    with deps.session() as session:
        again = deliveries.owe(session, kind="test_note", recipient_id="UEDITOR", subject="s", local_date=DAY,
                               now=utcnow(), op="post", target="UEDITOR", payload={"text": "Hello"})
    assert again is None


def test_a_dropped_answer_is_found_in_the_history_and_not_sent_twice(deps: Deps, slack: FakeSlack) -> None:
    client = make_web_client(deps.settings)
    delivery_id = owe(deps, "UEDITOR")
    slack.drop_response("chat.postMessage")  # Slack keeps the message; the bot never hears back
    [first] = outbox.deliver(deps, client, [delivery_id])
    assert first.status == "retry" and posts_to(slack, "UEDITOR") == 1
    # The next pass (the clock's sweep a minute later) looks in the DM's history before sending again.
    later = utcnow() + timedelta(minutes=2)
    [second] = outbox.sweep(deps, client, later)
    assert second.status == "found"
    assert posts_to(slack, "UEDITOR") == 1
    delivery = status(deps, delivery_id)
    assert delivery.status == DeliveryStatus.SENT and delivery.message_ts == slack.messages["DUEDITOR"][0]["ts"]


def test_every_post_carries_its_key_in_message_metadata(deps: Deps, slack: FakeSlack) -> None:
    delivery_id = owe(deps, "UEDITOR", subject="note-1")
    outbox.deliver(deps, make_web_client(deps.settings), [delivery_id])
    [call] = slack.calls_to("chat.postMessage")
    assert call.params["metadata"]["event_type"] == outbox.EVENT_TYPE
    assert call.params["metadata"]["event_payload"]["key"] == f"test_note:UEDITOR:note-1:{DAY.isoformat()}"


def test_a_permanent_refusal_is_recorded_once_and_never_retried(deps: Deps, slack: FakeSlack) -> None:
    client = make_web_client(deps.settings)
    delivery_id = owe(deps, "UNOBODY9")  # not a member: Slack answers channel_not_found / user_not_found
    [result] = outbox.deliver(deps, client, [delivery_id])
    assert result.status == "failed" and result.detail in ("channel_not_found", "user_not_found"), result
    later = outbox.sweep(deps, client, utcnow() + timedelta(hours=1))
    assert later == [], later
    assert status(deps, delivery_id).status == DeliveryStatus.FAILED


def test_a_claim_within_its_lease_is_left_alone_and_taken_over_after_it(deps: Deps, slack: FakeSlack) -> None:
    client = make_web_client(deps.settings)
    now = utcnow()
    delivery_id = owe(deps, "UEDITOR", now=now)
    with deps.session() as session:  # a sender that claimed it and died
        assert deliveries.claim(session, delivery_id, now) is not None
    assert outbox.sweep(deps, client, now + timedelta(seconds=30)) == []
    [taken] = outbox.sweep(deps, client, now + deliveries.LEASE + timedelta(seconds=1))
    assert taken.status == "sent" and posts_to(slack, "UEDITOR") == 1


def test_many_messages_go_out_concurrently_each_once(deps: Deps, slack: FakeSlack) -> None:
    people = [f"UM{n:03d}" for n in range(40)]
    for person in people:
        slack.add_user(person)
    ids = [owe(deps, person) for person in people]
    slack.latency_ms = 50
    results = outbox.deliver(deps, make_web_client(deps.settings), ids)
    assert Counter(r.status for r in results) == {"sent": 40}
    assert Counter(c.params["channel"] for c in slack.calls_to("chat.postMessage")) == Counter(people)


def test_a_sweep_longer_than_its_window_sends_each_once_on_connections_kept_open(
    deps: Deps, slack: FakeSlack
) -> None:
    """The pipeline claims ahead and records in batches: more rows than it may hold claimed at once all go,
    each once, recorded sent; every sender keeps one connection to Slack for all its messages."""
    workers = deps.settings.send_concurrency
    people = [f"UW{n:03d}" for n in range(2 * outbox.SWEEP_BATCH_PER_SENDER * workers + 5)]
    for person in people:
        slack.add_user(person)
    ids = [owe(deps, person) for person in people]
    slack.latency_ms = 20
    connections = slack.connections
    results = outbox.sweep(deps, make_web_client(deps.settings))
    assert Counter(r.status for r in results) == {"sent": len(people)}
    assert Counter(c.params["channel"] for c in slack.calls_to("chat.postMessage")) == Counter(people)
    assert {status(deps, i).status for i in ids} == {DeliveryStatus.SENT}
    assert slack.connections - connections <= workers  # not one connection per message


def test_a_429_pauses_the_method_and_the_message_still_goes_once(deps: Deps, slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1, times=1)
    delivery_id = owe(deps, "UEDITOR")
    [result] = outbox.deliver(deps, make_web_client(deps.settings), [delivery_id])
    assert result.status == "sent" and posts_to(slack, "UEDITOR") == 1
    calls = slack.calls_to("chat.postMessage")
    assert [c.response.get("error") for c in calls] == ["ratelimited", None]
    assert calls[1].at - calls[0].at >= 0.9  # waited for Retry-After


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.lock = threading.Lock()

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_the_gate_spaces_messages_to_one_conversation_and_shares_a_pause() -> None:
    clock = FakeClock()
    gate = SendGate(1.0, clock=clock.time, sleep=clock.sleep)
    assert gate.wait("chat.postMessage", "D1") == 0
    assert gate.wait("chat.postMessage", "D2") == 0  # another conversation: no wait
    assert gate.wait("chat.postMessage", "D1") == pytest.approx(1.0)  # the same one: a second apart
    gate.pause("chat.postMessage", 5)
    assert gate.wait("chat.postMessage", "D3") == pytest.approx(5.0)  # every sender of the method waits
    assert gate.wait("chat.update", None) == 0  # other methods do not


def test_sent_rows_keep_where_the_message_landed(deps: Deps, slack: FakeSlack) -> None:
    delivery_id = owe(deps, "UEDITOR")
    outbox.deliver(deps, make_web_client(deps.settings), [delivery_id])
    with deps.read() as session:
        channel, ts = session.execute(select(Delivery.channel, Delivery.message_ts)).one()
    assert channel == "DUEDITOR" and ts == slack.messages["DUEDITOR"][0]["ts"]


def test_a_batch_is_owed_in_one_statement_and_a_second_batch_owes_only_what_is_new(deps: Deps) -> None:
    now = utcnow()
    batch = [deliveries.Owed(kind="test_note", recipient_id=f"U{n}", subject="s", local_date=DAY, target=f"U{n}",
                             payload={"text": f"n{n}"}) for n in range(5)]
    with deps.session() as session:
        first = deliveries.owe_many(session, batch, now)
    assert len(first) == 5
    with deps.session() as session:
        second = deliveries.owe_many(session, [*batch, deliveries.Owed(
            kind="test_note", recipient_id="U9", subject="s", local_date=DAY, target="U9", payload={})], now)
    assert list(second) == [("test_note", "U9", "s", DAY)]


def test_a_dropped_thread_reply_is_found_among_the_replies_not_posted_twice(deps: Deps, slack: FakeSlack) -> None:
    client = make_web_client(deps.settings)
    parent = client.chat_postMessage(channel="C0001", text="status")["ts"]
    with deps.session() as session:
        delivery_id = deliveries.owe(session, kind="test_note", recipient_id="C0001", subject="thread",
                                     local_date=DAY, now=utcnow(), op="post", target="C0001", thread_ts=parent,
                                     payload={"text": "🎉 accepted"})
    slack.drop_response("chat.postMessage")
    [first] = outbox.deliver(deps, client, [delivery_id])
    assert first.status == "retry"
    [second] = outbox.sweep(deps, client, utcnow() + timedelta(minutes=2))
    assert second.status == "found"
    replies = [c for c in slack.calls_to("chat.postMessage") if c.params.get("thread_ts") == parent]
    assert len(replies) == 1
