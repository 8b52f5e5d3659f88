"""``brandlens run``: the scheduled pipeline over an inbox (once, or every N minutes)."""

from __future__ import annotations

import argparse
import json
import re
import sys

from analytics.cli import add_json_argument, add_workspace_argument, print_json, workspace_file

_PERIOD = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}


def period_seconds(text: str) -> float:
    """``15m``, ``1h``, ``30s``, ``2d`` (a bare number is minutes) to seconds; argparse's type."""
    found = _PERIOD.match(text)
    if not found or int(found[1]) == 0:
        raise argparse.ArgumentTypeError(f"must be a period such as 15m, 1h or 30s, got {text!r}")
    return float(int(found[1]) * _UNIT_SECONDS[found[2]])


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="the scheduled pipeline: ingest new inbox files, score, assign topics, find and send alerts",
        description=(
            "Each file of INBOX not seen before (by content hash) is ingested (bad rows quarantined, a bad "
            "file reported and skipped), new posts are scored with the workspace's model and assigned to the "
            "existing topics, alerts are detected for the periods they touch and each new alert is sent once "
            "to the workspace's channels (brandlens notify). Alerts found on the first run are historical: "
            "shown, not sent. The dashboard may stay open on the same workspace. One run at a time per "
            "workspace: a second one says who holds it and exits (status 3), or waits with --wait."
        ),
    )
    add_workspace_argument(parser)
    parser.add_argument("--inbox", required=True, help="the folder exports are dropped into")
    once = parser.add_mutually_exclusive_group()
    once.add_argument("--once", action="store_true", help="one pass, then exit (the default)")
    once.add_argument("--every", type=period_seconds, default=None, metavar="PERIOD",
                      help="keep running, one pass every PERIOD (15m, 1h, 30s); Ctrl-C or SIGTERM stops")
    parser.add_argument("--model", default=None,
                        help="model that scores new posts (default: the model the workspace uses)")
    parser.add_argument("--wait", action="store_true",
                        help="if another `brandlens run` is using the workspace, wait for it to finish "
                             "(default: say who holds it and exit with status 3)")
    parser.add_argument("--base-url", default=None,
                        help="the dashboard's address, for links in alert messages (stored in the workspace)")
    add_json_argument(parser)
    parser.set_defaults(func=run)


def _print(summary: dict[str, object], *, as_json: bool, stream: bool) -> None:
    if as_json:
        if stream:  # one object per line, a pass at a time
            sys.stdout.write(json.dumps(summary, default=str) + "\n")
            sys.stdout.flush()
        else:
            print_json(summary)
        return
    alerts = summary["alerts"]
    files = summary["files"]
    names = ", ".join(f"{f['file']} ({f['status']})" for f in files) or "no new files"
    print(f"run {summary['run_id']}: {names}; {summary['stored']:,} posts stored, {summary['duplicates']:,} "
          f"duplicates, {summary['quarantined']:,} quarantined; {summary['scored']:,} scored; alerts: "
          f"{alerts['new']} new, {alerts['sent']} sent, {alerts['failed']} failed"
          f"{', ' + str(alerts['historical']) + ' historical (not sent)' if alerts['historical'] else ''}; "
          f"{summary['seconds']:.1f} s", flush=True)
    for error in summary["errors"]:
        print(f"  {error}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from analytics.core.errors import BrandLensError
    from analytics.monitor.runlock import RunLocked, run_lock
    from analytics.notify.deliveries import BASE_URL_SETTING
    from analytics.store import resolve_workspace, set_setting

    inbox = Path(args.inbox).expanduser()
    if not inbox.is_dir():
        raise BrandLensError(f"--inbox {inbox} is not a folder")

    def say(line: str) -> None:
        if not args.json:
            print(f"brandlens run: {line}", file=sys.stderr, flush=True)

    def tell(line: str) -> None:  # even with --json: stderr is for people
        print(f"brandlens run: {line}", file=sys.stderr, flush=True)

    try:
        with run_lock(resolve_workspace(args.workspace), wait=args.wait, on_wait=tell):
            workspace = workspace_file(args.workspace, create=True)
            if args.base_url:
                with workspace.writing() as con:
                    set_setting(con, BASE_URL_SETTING, args.base_url.strip())
            return _passes(args, workspace, inbox, say)
    except RunLocked as exc:
        print(f"brandlens run: {exc}", file=sys.stderr, flush=True)
        return 3


def _passes(args: argparse.Namespace, workspace, inbox, say) -> int:  # noqa: ANN001 - see run()
    """One pass, or one every ``--every`` until a signal; a signal says whether it came inside a pass or between."""
    import time

    from analytics.core.signals import Interrupted, deferred_interrupts, interrupted_with
    from analytics.monitor.pipeline import run_once

    between = "it was between passes: every finished pass is committed"
    while True:
        began = time.monotonic()
        unprinted = None
        try:
            unprinted = run_once(workspace, inbox, model=args.model, say=say)
            with deferred_interrupts(between):  # a finished pass is reported whole, once
                _print(unprinted.to_dict(), as_json=args.json, stream=args.every is not None)
                unprinted = None
            if args.every is None:
                return 0
            time.sleep(max(0.0, args.every - (time.monotonic() - began)))
        except KeyboardInterrupt as exc:
            if isinstance(exc, Interrupted) and exc.committed:  # inside a pass (or its report): it says what
                raise
            if unprinted is not None:  # the pass had finished: report it before saying so
                _print(unprinted.to_dict(), as_json=args.json, stream=args.every is not None)
            raise interrupted_with(exc, between) from None
