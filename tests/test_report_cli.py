"""The newcomer's first command, `milestone-bot demo`, and `milestone-bot report`, run as a user runs them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.test_report_golden import TEMPLATE_HEADINGS, headings

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No Slack settings and no .env: the demo and offline reports must not need them.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "SECRET_KEY"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_demo_writes_both_reports_into_the_default_sqlite_database_and_can_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = cli("demo", cwd=tmp_path)  # as a newcomer runs it: a fresh process, nothing configured
    assert first.returncode == 0, first.stderr
    md_path, html_path = tmp_path / "report.md", tmp_path / "report.html"
    assert str(md_path) in first.stdout and str(html_path) in first.stdout
    assert (tmp_path / "milestone_bot.db").is_file()
    markdown = md_path.read_text(encoding="utf-8")
    assert len(headings(markdown)) == len(TEMPLATE_HEADINGS)
    assert "Not provided" not in markdown
    assert "<h1>Milestone Report: Customer Portal Beta</h1>" in html_path.read_text(encoding="utf-8")

    # The rest in this process (faster), with the same empty configuration.
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith(("SLACK_", "DATABASE_URL", "SECRET_KEY"))]:
        monkeypatch.delenv(name)
    assert main(["demo"]) == 0  # idempotent: the demo milestone is recreated, not duplicated
    assert md_path.read_text(encoding="utf-8") == markdown

    pdf = (tmp_path / "report.pdf").read_bytes()  # the demo writes the PDF too
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:]

    assert main(["report", "M-042", "--format", "pdf", "--paper", "Letter", "-o", "out.pdf"]) == 0
    assert (tmp_path / "out.pdf").read_bytes().startswith(b"%PDF-")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", "out.pdf"], cwd=tmp_path, capture_output=True, text=True).stdout
        assert "(letter)" in info
    assert main(["report", "m-42", "--format", "html", "-o", "out.html"]) == 0
    assert "<title>Milestone Report: Customer Portal Beta (M-042)</title>" in (tmp_path / "out.html").read_text()
    capsys.readouterr()
    assert main(["report", "M-042", "--team", "TDEMO"]) == 0
    assert capsys.readouterr().out == markdown

    assert main(["report", "M-999"]) == 1
    assert "No milestone M-999 in this database." in capsys.readouterr().err
