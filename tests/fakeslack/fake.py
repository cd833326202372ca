"""FakeSlack: the HTTP server with every method family mixed in."""

from __future__ import annotations

from tests.fakeslack.canvases import CanvasMethods
from tests.fakeslack.chat import ChatMethods
from tests.fakeslack.files import FileMethods
from tests.fakeslack.people import PeopleMethods
from tests.fakeslack.server import HttpServer
from tests.fakeslack.views import ViewMethods


class FakeSlack(ChatMethods, PeopleMethods, ViewMethods, FileMethods, CanvasMethods, HttpServer):
    """Slack's Web API on ``http://127.0.0.1:<port>/api/``; see the package docstring."""

    def __init__(
        self,
        token: str = "xoxb-test-token",
        host: str = "127.0.0.1",
        port: int = 0,
        bot_user_id: str = "UBOT",
        team_id: str = "T0001",
    ) -> None:
        super().__init__(token, host, port, bot_user_id, team_id)
        self.add_user(bot_user_id, name="milestone-bot", real_name="Milestone Bot", is_bot=True)
        self.users[bot_user_id]["profile"]["bot_id"] = self.bot_id

    def start(self) -> FakeSlack:
        super().start()
        return self

    def __enter__(self) -> FakeSlack:
        return self.start()
