"""What the browser tests share: Debian's Chromium for Playwright, a free port, a served app, a settled page.

Used by ``tests/test_browser.py`` (``streamlit run`` from the checkout) and
``tests/test_wheel.py`` (``brandlens dashboard`` from an installed wheel).
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def require_browser() -> None:
    """Skip the calling test, with the reason, when Chromium or the playwright package is absent."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's Chromium with `apt-get install chromium`")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (test extras)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(url: str, proc: subprocess.Popen, log: Path, *, timeout: float = 120) -> None:
    """Return once ``url``'s Streamlit health check answers; fail the test if ``proc`` exits or it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode}; see {log}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the server did not answer on {url} within {timeout:.0f} s; see {log}")


def stop(proc: subprocess.Popen) -> None:
    """Terminate ``proc`` (then kill it after 20 s) if it still runs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_settled(page: Any) -> None:
    """Wait for the app to render and the script to finish: no 'Running...' status widget, no stale element.

    Returns early, without waiting for the title, when the page shows an exception.
    """
    page.wait_for_selector('[data-testid="stApp"]', timeout=240_000)
    # a page title, or the exception box of a page that failed before drawing one (the caller reports it)
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1, [data-testid="stException"]', timeout=240_000)
    # the status widget shows while the script runs; require it absent twice, a moment apart
    deadline = time.monotonic() + 240
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:
        busy = page.locator('[data-testid="stStatusWidget"]').count() + page.locator('[data-stale="true"]').count()
        quiet = quiet + 1 if busy == 0 else 0
        page.wait_for_timeout(750)
    page.wait_for_timeout(1000)  # charts draw after the script ends
