"""The layering rule: domain services never import Slack."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parent.parent / "bot" / "services"


def test_services_do_not_import_slack() -> None:
    offenders = []
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("slack_sdk", "slack_bolt")]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(("bot.listeners", "bot.views"))]
    assert offenders == []
