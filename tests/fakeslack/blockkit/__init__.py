"""Slack's Block Kit rules as pure functions, usable without a server.

``validate_blocks`` / ``validate_view`` return Slack-style error lines (empty when Slack would accept);
the fake's message, view and unfurl handlers turn them into Slack's error responses.
"""

from tests.fakeslack.blockkit.blocks import blocks_text_length, validate_blocks, validate_view
from tests.fakeslack.blockkit.checker import MAX_BLOCKS, MAX_MESSAGE_BLOCKS_TEXT, MAX_MESSAGE_TEXT, Surface

__all__ = [
    "MAX_BLOCKS",
    "MAX_MESSAGE_BLOCKS_TEXT",
    "MAX_MESSAGE_TEXT",
    "Surface",
    "blocks_text_length",
    "validate_blocks",
    "validate_view",
]
