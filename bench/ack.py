"""Ack latency of `/milestone help` on the real web process, against a bare Bolt app that only acks.

Both run under gunicorn with the same settings (1 worker, 8 threads, gthread) against the fake Slack API;
1,000 signed commands go to each, 50 at a time. Prints p50/p95/max per server, the ratio ours/bare, and the
resident memory (RSS) of each server's gunicorn worker after the requests.

    .venv/bin/python bench/ack.py [--requests 1000] [--concurrency 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import migrate
from tests.conftest import ROOT, Server, _free_port, bot_env, start_server, stop_server
from tests.fakeslack import FakeSlack
from tests.harness import SlackSender, http


def start_bare(database_url: str, fake: FakeSlack, log_path: Path) -> Server:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench.bare_app:create()", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "8", "--worker-class", "gthread"],
        env=bot_env(database_url, fake, port), cwd=ROOT, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if http("GET", base_url + "/healthz").status == 200:
                return Server(base_url, log_path, process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(log_path.read_text())


def measure(sender: SlackSender, requests: int, concurrency: int) -> list[float]:
    def one(_: int) -> float:
        response = sender.command("help")
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {response.body[:200]!r}")
        return response.elapsed * 1000

    for _ in range(10):  # warm up: imports, auth.test, connection pools
        one(0)
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(requests)))


def worker_rss_mib(server: Server) -> float:
    """RSS of the gunicorn worker(s) under this master, from /proc (the largest, in MiB)."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return max(sizes) if sizes else 0.0


def summary(latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeSlack(token="xoxb-test-token") as fake:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        ours = start_server(url, fake, Path(tmp) / "ours.log")
        bare = start_bare(url, fake, Path(tmp) / "bare.log")
        try:
            results = {
                "milestone-bot": measure(SlackSender(ours.base_url, fake), args.requests, args.concurrency),
                "bare Bolt ack": measure(SlackSender(bare.base_url, fake), args.requests, args.concurrency),
            }
            rss = {"milestone-bot": worker_rss_mib(ours), "bare Bolt ack": worker_rss_mib(bare)}
        finally:
            stop_server(ours)
            stop_server(bare)

    print(f"{args.requests} signed `/milestone help` commands, {args.concurrency} at a time (latency in ms)")
    print(f"{'server':<16}{'p50':>9}{'p95':>9}{'max':>9}{'worker RSS MiB':>16}")
    rows = {name: summary(values) for name, values in results.items()}
    for name, (p50, p95, high) in rows.items():
        print(f"{name:<16}{p50:>9.1f}{p95:>9.1f}{high:>9.1f}{rss[name]:>16.0f}")
    (o50, o95, omax), (b50, b95, bmax) = rows["milestone-bot"], rows["bare Bolt ack"]
    print(f"{'ratio ours/bare':<16}{o50 / b50:>9.2f}{o95 / b95:>9.2f}{omax / bmax:>9.2f}")


if __name__ == "__main__":
    main()
