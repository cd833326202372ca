"""The layering rules of README.md's Architecture: domain code never imports Slack, listeners never
import other listeners, and no module or function grows past what a reader can hold."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
FEATURES = ("milestones", "sections", "signoffs", "actions", "feedback", "reports", "home", "assignments", "imports")
SLACK_PACKAGES = ("slack_sdk", "slack_bolt")
# File roles that talk to Slack or the web; every other module of a feature is domain code. A role split
# into more modules names them after it (`views_modals.py`, `flows_refresh.py`).
SURFACE_ROLES = ("listeners", "flows", "views", "jobs", "pages")


def _role(path: Path) -> str:
    return path.stem.split("_")[0]


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def _domain_modules() -> list[Path]:
    """Every feature's service.py (and its other domain modules) and bot/core: plain Python."""
    paths = list((BOT / "core").glob("*.py"))
    for feature in FEATURES:
        paths += [p for p in (BOT / feature).glob("*.py") if _role(p) not in SURFACE_ROLES]
    return paths


def test_domain_code_does_not_import_slack_or_surfaces() -> None:
    offenders = []
    for path in _domain_modules():
        for name in _imports(path):
            if name.split(".")[0] in SLACK_PACKAGES or name.startswith("bot.slack") or name.endswith(
                (".listeners", ".views", ".flows")
            ):
                offenders.append(f"{path.relative_to(BOT)}: {name}")
    assert offenders == []


def test_no_listener_imports_another_listener() -> None:
    offenders = []
    for path in BOT.rglob("listeners.py"):
        offenders += [f"{path.relative_to(BOT)}: {n}" for n in _imports(path) if n.endswith(".listeners")]
    assert offenders == []
