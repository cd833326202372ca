"""Slack's sending limits, shared by every sender thread of a process.

Slack allows about one message per second per conversation (every DM is its own conversation) and answers
429 with Retry-After when a method's limit is hit. `SendGate.wait()` holds a sender until its conversation's
next slot and until any pause of its method has passed; `pause()` (after a 429) pauses every sender of that
method, not just the one that was refused, so the whole process backs off together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SendGate:
    def __init__(self, per_conversation_seconds: float = 1.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = per_conversation_seconds
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}

    def wait(self, method: str, conversation: str | None) -> float:
        """Block until this call may go; returns how long it waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                slot = max(now, self._paused_until.get(method, 0.0))
                if conversation:
                    slot = max(slot, self._next_slot.get(conversation, 0.0))
                if slot <= now:
                    if conversation:
                        self._next_slot[conversation] = now + self.interval
                    return waited
            self.sleep(slot - now)
            waited += slot - now

    def pause(self, method: str, seconds: float) -> None:
        """Slack said 429: no sender of this method calls again before `seconds` have passed."""
        with self._lock:
            until = self.clock() + max(seconds, 0.0)
            self._paused_until[method] = max(self._paused_until.get(method, 0.0), until)

    def forget_idle(self) -> None:
        """Drop slots that are in the past (a long-lived process meets many conversations)."""
        with self._lock:
            now = self.clock()
            self._next_slot = {c: t for c, t in self._next_slot.items() if t > now}
