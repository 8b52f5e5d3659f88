"""``brandlens dashboard``: serve the installed dashboard on one workspace.

Runs ``python -m streamlit run <installed dashboard/app.py>`` (found through
:func:`analytics.resources.app_path`, so it works from the wheel as from a checkout) with
the settings of a served product rather than of development: headless, no usage
statistics, no file watcher, the viewer toolbar (no "Deploy" or developer menu items), and
this machine only (``127.0.0.1``) unless ``--host`` says otherwise. The workspace reaches
the pages through ``$BRANDLENS_WORKSPACE``.

Streamlit runs in its own session so that a terminal's Ctrl-C reaches it once, through
this process, which forwards SIGINT, SIGTERM and SIGHUP (a second one kills it) and waits
for it to stop: the command ends quietly with status 0 and leaves no server behind.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType

from analytics.cli import add_workspace_argument, existing_workspace
from analytics.core.errors import BrandLensError

DEFAULT_PORT = 8501
DEFAULT_HOST = "127.0.0.1"
_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the dashboard on a workspace",
        description=(
            "Serve the BrandLens dashboard on WORKSPACE at http://HOST:PORT until Ctrl-C. "
            "Stop it before a CLI job writes to the same workspace (a DuckDB file takes one writer)."
        ),
    )
    add_workspace_argument(parser)
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"TCP port (default: {DEFAULT_PORT})")
    parser.add_argument(
        "--host", default=None,
        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only; 0.0.0.0 for every interface)",
    )
    parser.set_defaults(func=run)


def port_number(text: str) -> int:
    """``argparse`` type of ``--port``: an integer from 1 to 65535, else argparse's usage error."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port from 1 to 65535, got {text!r}")
    return value


def streamlit_command(app: Path, *, port: int, host: str) -> list[str]:
    """The ``python -m streamlit run`` command line that serves ``app`` on ``host:port``."""
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", host,
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]


def _check_port_free(host: str, port: int) -> None:
    """A clear error now rather than Streamlit's after its start-up, when ``host:port`` cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BrandLensError(f"--host {host!r} is not an address of this machine: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as exc:
            hint = "pick another --port" if exc.errno == errno.EADDRINUSE else "give --host an address of this machine"
            raise BrandLensError(f"cannot listen on {host}:{port}: {exc.strerror}; {hint}") from None


def run(args: argparse.Namespace) -> int:
    from analytics.resources import app_path

    workspace = existing_workspace(args.workspace)
    if not workspace.is_file():
        raise BrandLensError(f"workspace {workspace} is not a file")
    host = args.host or DEFAULT_HOST
    _check_port_free(host, args.port)
    app = app_path()
    if not app.is_file():
        raise BrandLensError(f"the dashboard's entry script {app} is missing; reinstall BrandLens")
    workspace = workspace.resolve()
    env = {**os.environ, "BRANDLENS_WORKSPACE": str(workspace)}
    print(f"BrandLens dashboard on {workspace}: http://{host}:{args.port} (Ctrl-C stops it)", file=sys.stderr)
    return _serve(streamlit_command(app, port=args.port, host=host), env)


def _serve(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` until it exits, forwarding stop signals to it; 0 when it was asked to stop."""
    server = subprocess.Popen(command, env=env, start_new_session=True)
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if server.poll() is not None:
            return
        if stopping:  # a second Ctrl-C: the server did not stop by itself
            server.kill()
        else:
            server.send_signal(signal.SIGTERM if signum == signal.SIGHUP else signum)
        stopping = True

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED_SIGNALS}
    try:
        returncode = server.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping:
        return 0
    return returncode if returncode >= 0 else 128 - returncode
