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


def _script_busy(page: Any) -> int:
    """How many signs say the app's script still runs: its state is not ``notRunning``, the status widget, stale elements."""
    running = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').count() == 0
    return int(running) + page.locator('[data-testid="stStatusWidget"]').count() + page.locator('[data-stale="true"]').count()


def _wait_quiet_twice(page: Any, *, pause_ms: int, timeout_s: float) -> None:
    """Return once two looks ``pause_ms`` apart find the script quiet (or at the deadline); no pause after the last look."""
    quiet, deadline = 0, time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        quiet = quiet + 1 if _script_busy(page) == 0 else 0
        if quiet == 2:
            return
        page.wait_for_timeout(pause_ms)


def wait_until_settled(page: Any) -> None:
    """Wait for the app to render and the script to finish: no 'Running...' status widget, no stale element.

    Returns early, without waiting for the title, when the page shows an exception.
    """
    page.wait_for_selector('[data-testid="stApp"]', timeout=240_000)
    # a page title, or the exception box of a page that failed before drawing one (the caller reports it)
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1, [data-testid="stException"]', timeout=240_000)
    # the app's script state (``data-test-script-state``, which Streamlit's own e2e tests read) and the status
    # widget both say whether the script runs; the widget alone appears only after a delay, so a page whose
    # script was still between its title and its sidebar could pass as settled. Require quiet twice, a moment apart.
    _wait_quiet_twice(page, pause_ms=750, timeout_s=240)
    wait_for_charts(page)  # charts draw after the script ends


def wait_for_charts(page: Any, *, timeout: float = 60_000) -> None:
    """Wait until every Plotly chart of the page has drawn its SVG (the state, not a time)."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
        ".every(c => c.querySelector('.js-plotly-plot .main-svg'))", timeout=timeout)


def start_oidc_provider(users: list[str], log: Path) -> tuple[str, subprocess.Popen]:
    """A real OpenID Connect provider on 127.0.0.1 (the ``oidc-provider-mock`` package), one button per user.

    Its authorize page lists ``users`` as buttons; choosing one signs that address in
    (``sub`` and ``email`` claims). Skips the test when the package is absent.
    """
    import shutil
    import sys

    executable = Path(sys.executable).with_name("oidc-provider-mock")
    if not executable.exists() and shutil.which("oidc-provider-mock") is None:
        pytest.skip("the oidc-provider-mock package is not installed (test extras)")
    command = [str(executable if executable.exists() else shutil.which("oidc-provider-mock")),
               "--host", "127.0.0.1", "--port", str(port := free_port())]
    for user in users:
        command += ["--user", user]
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the OpenID provider exited with {proc.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=2) as r:
                if r.status == 200:
                    return url, proc
        except OSError:
            time.sleep(0.3)
    stop(proc)
    pytest.fail(f"the OpenID provider did not answer on {url}; see {log}")


def wait_for_title(page: Any, *, timeout: float = 120_000) -> str:
    """The page's first title once the script has finished (a lighter :func:`wait_until_settled`)."""
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1, [data-testid="stException"]', timeout=timeout)
    _wait_quiet_twice(page, pause_ms=300, timeout_s=timeout / 1000)
    return page.locator('[data-testid="stMainBlockContainer"] h1').first.inner_text().strip()


def sign_in(page: Any, app_url: str, user: str) -> None:
    """Sign ``user`` in through the app's sign-in button and the provider's page of user buttons."""
    page.goto(app_url, wait_until="domcontentloaded", timeout=120_000)
    assert wait_for_title(page) == "Sign in to BrandLens"
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=user, exact=True).click(timeout=60_000)  # on the provider's page
    page.wait_for_url(f"{app_url}/**", timeout=60_000)
    wait_for_title(page)


def shown_value(selectbox: Any) -> str:
    """What a Streamlit selectbox shows: its text, or its input's value where the widget renders one."""
    inputs = selectbox.locator("input")
    return selectbox.inner_text() + " " + " ".join(inputs.nth(i).input_value() for i in range(inputs.count()))
