"""``brandlens dashboard``: serve the installed dashboard on a workspace or a folder of workspaces.

Runs ``python -m streamlit run <installed dashboard/app.py>`` (found through
:func:`analytics.resources.app_path`, so it works from the wheel as from a checkout) with
the settings of a served product rather than of development: headless, no usage
statistics, no file watcher, the viewer toolbar (no "Deploy" or developer menu items), no
built-in table download (exports are the pages' own, formula-safe buttons), and this
machine only (``127.0.0.1``) unless ``--host`` says otherwise. The served workspaces reach
the pages through ``$BRANDLENS_WORKSPACE`` (``--workspace``) and ``$BRANDLENS_WORKSPACES``
(``--workspaces DIR``), see :mod:`analytics.store.catalog`.

``--secrets FILE`` is Streamlit's secrets file: its ``[auth]`` section turns sign-in on
(OpenID Connect, ``st.login``) and ``[brandlens.roles]`` gives roles (:mod:`analytics.access`).
It is checked before the server starts, and ``$BRANDLENS_AUTH_REQUIRED`` tells the app that
a file it cannot read means nobody gets in, never the open mode.

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

from analytics.cli import add_workspace_argument
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
    parser.add_argument(
        "--workspaces", metavar="DIR", default=None,
        help="serve every *.duckdb workspace of DIR as well (admins may create new ones there)",
    )
    parser.add_argument(
        "--secrets", metavar="FILE", default=None,
        help="Streamlit secrets file: [auth] turns sign-in on, [brandlens.roles] gives roles (see README)",
    )
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


def streamlit_command(app: Path, *, port: int, host: str, secrets: Path | None = None) -> list[str]:
    """The ``python -m streamlit run`` command line that serves ``app`` on ``host:port``.

    ``secrets`` becomes Streamlit's only secrets file (``secrets.files``).
    """
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", host,
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
        "--client.disableDataExport", "true",
        "--client.showErrorDetails", "none",  # an unexpected error never shows a traceback or server paths
        *(["--secrets.files", str(secrets)] if secrets is not None else []),
    ]


def check_secrets(path: Path, *, port: int) -> list[str]:
    """Read and check a secrets file before serving; the warnings to print (raises for what must be fixed)."""
    import tomllib

    from analytics import access

    if not path.is_file():
        raise BrandLensError(f"secrets file {path} does not exist")
    try:
        secrets = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BrandLensError(f"secrets file {path} is not valid TOML: {exc}") from None
    if not access.auth_configured(secrets):
        raise BrandLensError(f"secrets file {path} has no [auth] section: sign-in needs redirect_uri, cookie_secret, "
                             "client_id, client_secret and server_metadata_url (see README)")
    try:
        access.check_auth_section(secrets["auth"])
        config = access.AccessConfig.from_secrets(secrets)
    except access.AccessConfigError as exc:
        raise BrandLensError(f"secrets file {path}: {exc}") from None
    warnings = []
    if path.stat().st_mode & 0o077:
        warnings.append(f"{path} holds the client secret and the cookie secret but others may read it: chmod 600 {path}")
    if not config.roles and not config.roles_claim:
        warnings.append("no [brandlens.roles] and no roles_claim: people can sign in but will see no page")
    redirect = str(secrets["auth"]["redirect_uri"])
    from urllib.parse import urlparse

    redirect_port = urlparse(redirect.replace("{port}", str(port))).port
    if redirect_port is not None and redirect_port != port:
        warnings.append(f"[auth] redirect_uri {redirect} is not on --port {port}: sign-in will return elsewhere")
    return warnings


def _served_workspace(name: str | None) -> Path:
    """The workspace ``--workspace`` names, created empty (and migrated) when it does not exist yet.

    A new user starts with ``brandlens dashboard --workspace mine.duckdb`` and uploads on the
    Data page; only a path whose folder is missing, or that is not a file, is refused.
    """
    from analytics import store

    path = store.resolve_workspace(name)
    if path.exists():
        if not path.is_file():
            raise BrandLensError(f"workspace {path} is not a file")
        return path.resolve()
    if not path.parent.is_dir():
        raise BrandLensError(f"cannot create workspace {path}: its folder {path.parent} does not exist")
    if path.suffix.lower() != ".duckdb":
        raise BrandLensError(f"a new workspace file ends in .duckdb, not {path.name!r}")
    with store.open_workspace(path):  # created and migrated, then closed: the server opens it per run
        pass
    print(f"brandlens dashboard: created the empty workspace {path}; upload an export on the Data page",
          file=sys.stderr)
    return path.resolve()


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

    from analytics import access
    from analytics.store.catalog import FOLDER_ENV, WORKSPACE_ENV

    env = dict(os.environ)
    env.pop(FOLDER_ENV, None)
    served = []
    folder = None
    if args.workspaces is not None:
        folder = Path(args.workspaces).expanduser()
        if not folder.is_dir():
            raise BrandLensError(f"--workspaces {folder} is not a folder")
        folder = folder.resolve()
        env[FOLDER_ENV] = str(folder)
        served.append(f"the workspaces of {folder}")
    if args.workspace is not None or folder is None:
        workspace = _served_workspace(args.workspace)
        env[WORKSPACE_ENV] = str(workspace)
        served.insert(0, str(workspace))
    else:
        env.pop(WORKSPACE_ENV, None)  # only the folder's workspaces, not an inherited default
    host = args.host or DEFAULT_HOST
    secrets = None
    if args.secrets is not None:
        secrets = Path(args.secrets).expanduser().resolve()
        for warning in check_secrets(secrets, port=args.port):
            print(f"brandlens dashboard: warning: {warning}", file=sys.stderr)
        env[access.AUTH_REQUIRED_ENV] = "1"
    else:
        env.pop(access.AUTH_REQUIRED_ENV, None)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"brandlens dashboard: warning: sign-in is off (no --secrets): anyone who reaches {host}:{args.port} "
                  "sees and changes everything", file=sys.stderr)
    _check_port_free(host, args.port)
    app = app_path()
    if not app.is_file():
        raise BrandLensError(f"the dashboard's entry script {app} is missing; reinstall BrandLens")
    print(f"BrandLens dashboard on {' and '.join(served)}: http://{host}:{args.port} (Ctrl-C stops it)"
          + ("" if secrets else "; sign-in is off"), file=sys.stderr)
    return _serve(streamlit_command(app, port=args.port, host=host, secrets=secrets), env)


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
