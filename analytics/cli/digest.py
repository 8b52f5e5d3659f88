"""``brandlens digest``: e-mail the executive report (HTML body, PDF attached)."""

from __future__ import annotations

import argparse

from analytics.cli import add_json_argument, add_workspace_argument, print_json, workspace_file


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "digest", help="e-mail the executive report: headline figures in the body, the report as a PDF",
        description="Builds the brand report for the period and sends it. Run it from cron (e.g. Mondays 8:00). "
                    "The SMTP server is --smtp, else that of the workspace's first e-mail channel.",
    )
    add_workspace_argument(parser)
    parser.add_argument("--email", required=True, metavar="ADDR", help="who receives it")
    parser.add_argument("--period", choices=["day", "week", "month"], default="week",
                        help="the headline period and the charts' granularity (default: week)")
    parser.add_argument("--model", default=None, help="model whose predictions to use (default: the workspace's)")
    parser.add_argument("--smtp", metavar="HOST[:PORT]", default=None, help="SMTP server (default: from a channel)")
    parser.add_argument("--smtp-user", default=None)
    parser.add_argument("--smtp-password-env", default=None, metavar="VAR")
    parser.add_argument("--starttls", action="store_true")
    parser.add_argument("--sender", default=None)
    add_json_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analytics.notify.channels import email_options
    from analytics.notify.digest import send_digest

    smtp = (email_options(args.smtp, user=args.smtp_user, password_env=args.smtp_password_env,
                          starttls=args.starttls, sender=args.sender) if args.smtp else None)
    attempt = send_digest(workspace_file(args.workspace), to=args.email, smtp=smtp, period=args.period,
                          model_id=args.model)
    if args.json:
        print_json({"to": args.email, "period": args.period, "status": attempt.status, "attempts": attempt.attempts,
                    "error": attempt.error})
    elif attempt.status == "sent":
        print(f"digest sent to {args.email}")
    else:
        print(f"digest to {args.email} FAILED after {attempt.attempts} attempt(s): {attempt.error} "
              "(recorded; run it again)")
    return 0 if attempt.status == "sent" else 1
