"""``brandlens notify``: where alerts go (add, list, remove, test)."""

from __future__ import annotations

import argparse
import sys

from analytics.cli import add_json_argument, add_workspace_argument, open_workspace, print_json, workspace_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "notify", help="notification channels: Slack-compatible webhooks and e-mail",
        description="Channels the scheduled pipeline (brandlens run) sends new alerts to. No password is "
                    "stored: --smtp-password-env names the environment variable that holds it.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a webhook or an e-mail channel")
    add_workspace_argument(add)
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--webhook", metavar="URL", help="a Slack-compatible incoming webhook")
    target.add_argument("--email", metavar="ADDR", help="an e-mail address (needs --smtp)")
    add.add_argument("--smtp", metavar="HOST[:PORT]", help="the SMTP server for --email")
    add.add_argument("--smtp-user", default=None, help="SMTP login user")
    add.add_argument("--smtp-password-env", default=None, metavar="VAR",
                     help="environment variable holding the SMTP password (read when sending)")
    add.add_argument("--starttls", action="store_true", help="upgrade the SMTP connection with STARTTLS")
    add.add_argument("--sender", default=None, help="From address (default: the SMTP user)")
    add_json_argument(add)
    add.set_defaults(func=run_add)

    listing = actions.add_parser("list", help="list the channels")
    add_workspace_argument(listing)
    add_json_argument(listing)
    listing.set_defaults(func=run_list)

    remove = actions.add_parser("remove", help="remove a channel")
    add_workspace_argument(remove)
    remove.add_argument("id", help="the channel's id (brandlens notify list)")
    add_json_argument(remove)
    remove.set_defaults(func=run_remove)

    test = actions.add_parser("test", help="send a test message to every channel (or one)")
    add_workspace_argument(test)
    test.add_argument("id", nargs="?", default=None, help="only this channel")
    add_json_argument(test)
    test.set_defaults(func=run_test)


def run_add(args: argparse.Namespace) -> int:
    from analytics.core.errors import BrandLensError
    from analytics.notify.channels import add_channel, email_options
    from analytics.store import audit, transaction
    from analytics.store.audit import cli_actor

    if args.email and not args.smtp:
        raise BrandLensError("--email needs --smtp HOST[:PORT]")
    if args.webhook and (args.smtp or args.smtp_user or args.smtp_password_env or args.starttls or args.sender):
        raise BrandLensError("--smtp, --smtp-user, --smtp-password-env, --starttls and --sender go with --email")
    options = (email_options(args.smtp, user=args.smtp_user, password_env=args.smtp_password_env,
                             starttls=args.starttls, sender=args.sender) if args.email else {})
    with open_workspace(args.workspace, mode="write") as con, transaction(con):
        channel = add_channel(con, "email" if args.email else "webhook", args.email or args.webhook, options,
                              created_by=cli_actor())
        audit.record(con, cli_actor(), "channel.add", channel.channel_id, {"kind": channel.kind})
    if args.json:
        print_json(channel.to_dict())
    else:
        print(f"added channel {channel.channel_id}: {channel.describe()}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from analytics.notify.channels import list_channels

    with open_workspace(args.workspace, mode="read") as con:
        channels = list_channels(con)
    if args.json:
        print_json({"channels": [c.to_dict() for c in channels]})
    elif not channels:
        print("no channels: add one with `brandlens notify add --webhook URL` or `--email ADDR --smtp HOST`")
    else:
        for c in channels:
            print(f"{c.channel_id}  {c.describe()}  (added {c.created_at:%Y-%m-%d %H:%M} by {c.created_by or '?'})")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from analytics.notify.channels import remove_channel
    from analytics.store import audit, transaction
    from analytics.store.audit import cli_actor

    with open_workspace(args.workspace, mode="write") as con, transaction(con):
        channel = remove_channel(con, args.id)
        audit.record(con, cli_actor(), "channel.remove", channel.channel_id, {"kind": channel.kind})
    if args.json:
        print_json({"removed": channel.to_dict()})
    else:
        print(f"removed channel {channel.channel_id}: {channel.describe()}")
    return 0


def run_test(args: argparse.Namespace) -> int:
    from analytics.core.errors import BrandLensError
    from analytics.notify.channels import get_channel, list_channels
    from analytics.notify.deliveries import record_delivery
    from analytics.notify.messages import test_message
    from analytics.notify.send import send

    workspace = workspace_file(args.workspace)
    with workspace.reading() as con:
        channels = [get_channel(con, args.id)] if args.id else list_channels(con)
    if not channels:
        raise BrandLensError("no channels to test: add one with `brandlens notify add`")
    results = []
    for channel in channels:
        attempt = send(channel, test_message())
        with workspace.writing() as con:
            record_delivery(con, kind="test", channel=channel, target=channel.target, attempt=attempt)
        results.append({"id": channel.channel_id, "status": attempt.status, "attempts": attempt.attempts,
                        "error": attempt.error})
        if not args.json:
            outcome = "sent" if attempt.status == "sent" else f"FAILED after {attempt.attempts} attempt(s): {attempt.error}"
            print(f"{channel.channel_id}  {channel.describe()}: {outcome}", file=sys.stdout)
    if args.json:
        print_json({"results": results})
    return 0 if all(r["status"] == "sent" for r in results) else 1
