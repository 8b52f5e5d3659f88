"""The scheduled pipeline end to end, against real local receivers (aiosmtpd, an HTTP server).

A workspace gets six weeks of ordinary posts through its inbox (the first run: alerts found
then are historical, nothing is sent), then a file with a spike of angry posts: the new
alert reaches the webhook and the mailbox once; a second run sends nothing; a webhook that
is down is recorded as failed and delivered on the next run, once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analytics.monitor.pipeline import pipeline_runs, run_once
from analytics.notify.channels import add_channel, email_options
from analytics.notify.deliveries import deliveries
from analytics.notify.send import RetryPolicy
from analytics.store.sharing import WorkspaceFile
from tests.receivers import SmtpReceiver, WebhookReceiver, parts

FAST = RetryPolicy(attempts=2, first_wait=0.01, max_wait=0.02, timeout=3.0)
START = dt.datetime(2026, 1, 5)
BRAND = "Acme <!channel> *x*"  # a brand name carrying Slack markup: must arrive as text
GOOD = ["love the new app, great update", "fast delivery, thanks a lot", "really happy with the support team",
        "nice design and easy checkout", "good value, would buy again"]
BAD = ["terrible service, I want a refund", "awful, the app crashes every time", "worst support ever, so angry",
       "broken again, horrible experience", "hate this, never again"]


def _posts(days: range, per_day: int, seed: int, *, angry: int = 0, day_of_anger: int | None = None) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for day in days:
        for brand in (BRAND, "Globex"):
            for i in range(per_day):
                text = rng.choice(GOOD if rng.random() < 0.7 else BAD)
                rows.append({"text": f"{text} #{day}-{i}", "brand": brand,
                             "created_at": (START + dt.timedelta(days=day, minutes=7 * i)).isoformat()})
    if angry:
        for i in range(angry):
            rows.append({"text": f"{rng.choice(BAD)} <http://evil.example|click> spike {day_of_anger}-{i}",
                         "brand": BRAND,
                         "created_at": (START + dt.timedelta(days=day_of_anger, minutes=3 * i)).isoformat()})
    return pd.DataFrame(rows)


@pytest.fixture()
def receivers():
    hook, smtp = WebhookReceiver(), SmtpReceiver()
    yield hook, smtp
    hook.close()
    smtp.close()


def _settle(path: Path) -> Path:
    """Date the file a minute back: a file changed in the last seconds may still be being written."""
    past = (dt.datetime.now() - dt.timedelta(minutes=1)).timestamp()
    os.utime(path, (past, past))
    return path


def _drop(inbox: Path, name: str, frame: pd.DataFrame) -> Path:
    frame.to_csv(inbox / name, index=False)
    return _settle(inbox / name)


def _mrkdwn(node: object) -> list[dict]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "mrkdwn" else []
        return found + [m for v in node.values() for m in _mrkdwn(v)]
    if isinstance(node, list):
        return [m for v in node for m in _mrkdwn(v)]
    return []


def test_a_spike_reaches_both_channels_once_and_a_down_receiver_gets_it_on_the_next_run(
    tmp_path: Path, receivers
) -> None:
    hook, smtp = receivers
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    workspace = WorkspaceFile(tmp_path / "w.duckdb")
    with workspace.writing():
        pass  # created and migrated

    baseline = _drop(inbox, "baseline.csv", _posts(range(0, 42), 12, seed=1))
    first = run_once(workspace, inbox, model="vader", policy=FAST)
    assert first.status == "done" and [f["status"] for f in first.files] == ["ingested"]
    assert first.stored == first.rows_read == 42 * 2 * 12 and first.scored == first.stored
    assert first.alerts_new == 0 and first.alerts_sent == 0  # the first run's alerts are history

    from analytics.brand.topics import build_topics

    build_topics(workspace, model_id="vader", n_topics=3)  # topics exist: new posts are assigned to them

    with workspace.writing() as con:
        add_channel(con, "webhook", hook.url)
        add_channel(con, "email", "team@example.com", email_options(f"127.0.0.1:{smtp.port}"))

    _settle(Path(shutil.copy(baseline, inbox / "baseline-renamed-copy.csv")))  # same content: not ingested again
    (inbox / "half-written.csv").write_text("text\nstill coming")  # changed just now: left for the next run
    _drop(inbox, "spike.csv", _posts(range(42, 43), 12, seed=2, angry=150, day_of_anger=42))
    _drop(inbox, "broken.csv", pd.DataFrame({"no_text_here": [1, 2]}))  # a bad file: reported, the run goes on
    second = run_once(workspace, inbox, model="vader", policy=FAST)
    by_file = {f["file"]: f for f in second.files}
    assert "baseline-renamed-copy.csv" in second.already_seen and "baseline-renamed-copy.csv" not in by_file
    assert "half-written.csv" not in by_file and "half-written.csv" not in second.already_seen
    (inbox / "half-written.csv").unlink()
    assert by_file["spike.csv"]["status"] == "ingested" and by_file["broken.csv"]["status"] == "failed"
    assert "broken.csv" in by_file["broken.csv"]["error"] or "text" in by_file["broken.csv"]["error"]
    assert second.topics_assigned >= by_file["spike.csv"]["stored"]  # general topics take every new post
    assert second.alerts_new >= 1 and second.alerts_failed == 0
    assert second.alerts_sent == 2 * second.alerts_new  # every new alert, on both channels
    assert len(hook.bodies) == len(smtp.messages) == second.alerts_new

    body = hook.bodies[0]
    assert set(body) == {"text", "blocks"} and body["blocks"][0]["type"] == "header"
    raw = json.dumps(body)
    # what Slack parses as markup: the fallback text and every mrkdwn object (plain_text is shown as it is)
    marked = [body["text"], body["blocks"][0]["text"]["text"]] + [t["text"] for t in _mrkdwn(body["blocks"])]
    assert not any("<!channel>" in t for t in marked) and "&lt;!channel&gt;" in body["text"]  # no @channel ping
    assert not any("<http://evil.example|click>" in t for t in marked)  # a post's text never becomes a link
    assert "Why it fired" in raw and "Top posts" in raw
    mail = parts(smtp.messages[0])
    assert "Why it fired" in mail["text/plain"] and "&lt;!channel&gt;" in mail["text/html"]
    assert "<!channel>" not in mail["text/html"]

    third = run_once(workspace, inbox, model="vader", policy=FAST)
    assert third.files == [] and third.alerts_new == third.alerts_sent == 0
    assert len(hook.bodies) == len(smtp.messages) == second.alerts_new  # nothing sent twice

    hook.status = 503  # the webhook receiver is down
    _drop(inbox, "spike2.csv", _posts(range(43, 50), 12, seed=3, angry=150, day_of_anger=49))
    fourth = run_once(workspace, inbox, model="vader", policy=FAST)
    assert fourth.alerts_new >= 1 and fourth.alerts_failed == fourth.alerts_new
    assert fourth.alerts_sent == fourth.alerts_new  # the e-mails went
    with workspace.reading() as con:
        log = deliveries(con)
    failed = log[log["status"] == "failed"]
    assert len(failed) == fourth.alerts_new and (failed["attempts"] == FAST.attempts).all()
    assert failed["error"].str.contains("503").all()

    hook.status = 200
    fifth = run_once(workspace, inbox, model="vader", policy=FAST)
    assert fifth.files == [] and fifth.alerts_sent == fourth.alerts_new and fifth.alerts_failed == 0
    assert len(hook.bodies) == second.alerts_new + fourth.alerts_new  # each alert once on the webhook
    sixth = run_once(workspace, inbox, model="vader", policy=FAST)
    assert sixth.alerts_sent == 0

    with workspace.reading() as con:
        runs = pipeline_runs(con)
    assert len(runs) == 6 and (runs["status"] == "done").all()
    assert "spike.csv (ingested)" in runs.iloc[-2]["files"]


def test_run_cli_json_shape_and_a_second_run_ingests_nothing(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _drop(inbox, "posts.csv", _posts(range(0, 3), 5, seed=4))
    cmd = [sys.executable, "-m", "analytics.cli", "run", "--workspace", str(tmp_path / "w.duckdb"),
           "--inbox", str(inbox), "--once", "--model", "vader", "--json"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert {"files", "rows_read", "stored", "duplicates", "quarantined", "scored", "alerts", "seconds"} <= set(summary)
    assert set(summary["alerts"]) >= {"new", "sent", "failed"}
    assert summary["stored"] == summary["scored"] == 30 and summary["files"][0]["file"] == "posts.csv"
    second = json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout)
    assert second["files"] == [] and second["stored"] == 0 and second["already_seen"] == ["posts.csv"]


def test_notify_cli_add_list_test_remove(tmp_path: Path, receivers) -> None:
    hook, smtp = receivers
    workspace = tmp_path / "w.duckdb"
    WorkspaceFile(workspace).writing().__enter__().close()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "analytics.cli", "notify", *args, "--workspace", str(workspace)],
                              capture_output=True, text=True, timeout=120)

    added = json.loads(cli("add", "--webhook", hook.url, "--json").stdout)
    mail = cli("add", "--email", "ops@example.com", "--smtp", f"127.0.0.1:{smtp.port}",
               "--smtp-user", "ops", "--smtp-password-env", "NOT_SET_ANYWHERE_123")
    assert mail.returncode == 0, mail.stderr
    listed = json.loads(cli("list", "--json").stdout)["channels"]
    assert [c["kind"] for c in listed] == ["webhook", "email"]
    assert "password" not in json.dumps(listed).replace("password_env", "")  # a variable's name, no secret
    tested = cli("test", "--json")
    results = {r["id"]: r for r in json.loads(tested.stdout)["results"]}
    assert results[added["id"]]["status"] == "sent" and len(hook.bodies) == 1
    email_result = next(r for i, r in results.items() if i != added["id"])
    assert email_result["status"] == "failed" and "NOT_SET_ANYWHERE_123" in email_result["error"]
    assert tested.returncode == 1
    bad = cli("add", "--webhook", "ftp://nowhere")
    assert bad.returncode == 2 and "http" in bad.stderr and "Traceback" not in bad.stderr
    assert cli("remove", added["id"]).returncode == 0
    assert [c["kind"] for c in json.loads(cli("list", "--json").stdout)["channels"]] == ["email"]


def test_digest_reaches_the_mailbox_with_the_report_attached(demo_workspace: Path, tmp_path: Path, receivers) -> None:
    _, smtp = receivers
    path = tmp_path / "w.duckdb"
    shutil.copy(demo_workspace, path)
    done = subprocess.run([sys.executable, "-m", "analytics.cli", "digest", "--workspace", str(path), "--email",
                           "execs@example.com", "--smtp", f"127.0.0.1:{smtp.port}", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "sent"
    (mail,) = smtp.messages
    assert mail["To"] == "execs@example.com" and mail["Subject"].startswith("BrandLens digest")
    body = parts(mail)
    assert "Net sentiment" in body["text/plain"] or "net sentiment" in body["text/plain"].lower()
    assert "<table" in body["text/html"] and body["application/pdf"][:5] == b"%PDF-"
    with WorkspaceFile(path).reading() as con:
        log = deliveries(con)
    assert log["kind"].tolist() == ["digest"] and log["status"].tolist() == ["sent"]


def test_run_every_keeps_passing_until_sigterm_and_then_says_so(tmp_path: Path) -> None:
    import signal
    import time

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _drop(inbox, "posts.csv", _posts(range(0, 2), 3, seed=5))
    proc = subprocess.Popen([sys.executable, "-m", "analytics.cli", "run", "--workspace", str(tmp_path / "w.duckdb"),
                             "--inbox", str(inbox), "--every", "1s", "--model", "vader", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    passes = []
    deadline = time.monotonic() + 120
    while len(passes) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()  # one JSON object per pass and line
        if line:
            passes.append(json.loads(line))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err, err
    assert "stopped (SIGTERM); it was between passes" in err.strip().splitlines()[-1]
    assert passes[0]["stored"] == 12 and passes[1]["stored"] == 0 and passes[1]["already_seen"] == ["posts.csv"]
