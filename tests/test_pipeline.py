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
    half = inbox / "half-written.csv"
    half.write_text("text\nstill coming")  # still being written: left for the next run
    soon = (dt.datetime.now() + dt.timedelta(hours=1)).timestamp()
    os.utime(half, (soon, soon))  # "changed just now" however long this test takes to get to the run
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


def test_a_webhooks_credentials_and_path_are_not_in_what_every_role_sees() -> None:
    from analytics.notify.channels import Channel

    for url in ("http://user:secret@host.example/hook/abc", "https://:secret@host.example:8443/x?token=t",
                "https://secret@[::1]:9/p", "http://user:pa%40ss@host.example"):
        shown = Channel("c1", "webhook", url).describe()
        assert "secret" not in shown and "user" not in shown and "@" not in shown and "pa%40ss" not in shown, shown
        assert "hook/abc" not in shown and "token" not in shown and shown.endswith("/…")
    assert Channel("c1", "webhook", "https://u:p@hooks.example.com:8443/T/B").describe() == \
        "webhook https://hooks.example.com:8443/…"


def test_channels_are_listed_in_the_order_they_were_added(tmp_path: Path) -> None:
    from analytics.notify.channels import list_channels

    with WorkspaceFile(tmp_path / "w.duckdb").writing() as con:  # five adds within the same second
        added = [add_channel(con, "email", f"team{i}@example.com").channel_id for i in range(5)]
        assert [c.channel_id for c in list_channels(con)] == added


def test_a_webhook_with_credentials_in_its_url_is_sent_with_basic_auth(receivers) -> None:
    import base64

    from analytics.notify.channels import Channel
    from analytics.notify.messages import Message
    from analytics.notify.send import send

    hook, _ = receivers
    url = hook.url.replace("http://", "http://ops:s%40cret@")
    attempt = send(Channel("c1", "webhook", url), Message(subject="s", text="t", html="<p>t</p>",
                                                          slack={"text": "t"}), policy=FAST)
    assert attempt.status == "sent", attempt.error
    assert hook.authorizations == ["Basic " + base64.b64encode(b"ops:s@cret").decode()]


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
    """SIGTERM after two passes lands between passes or inside the next one; either way the last line says which, truly.

    No timing: the test does not guess where the signal lands (with ``--every 1s`` it may be
    either), it checks the sentence against what the workspace recorded.
    """
    import signal

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _drop(inbox, "posts.csv", _posts(range(0, 2), 3, seed=5))
    path = tmp_path / "w.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "analytics.cli", "run", "--workspace", str(path),
                             "--inbox", str(inbox), "--every", "1s", "--model", "vader", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    passes = [json.loads(proc.stdout.readline()) for _ in range(2)]  # one JSON object per pass and line
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    passes += [json.loads(line) for line in out.splitlines() if line.strip()]  # passes finished meanwhile
    assert proc.returncode == 143 and "Traceback" not in err, err
    assert passes[0]["stored"] == 12 and passes[1]["stored"] == 0 and passes[1]["already_seen"] == ["posts.csv"]
    with WorkspaceFile(path).reading() as con:
        runs = pipeline_runs(con).iloc[::-1]  # oldest first
    last = err.strip().splitlines()[-1]
    done = runs[runs["status"] == "done"]
    assert len(done) >= len(passes) and (done["run_id"].tolist()[:len(passes)] == [p["run_id"] for p in passes])
    if "stopped (SIGTERM); it was between passes: every finished pass is committed" in last:
        assert (runs["status"] == "done").all(), runs  # nothing was cut
    else:  # inside a pass: that pass is recorded as interrupted, and the line says what it had committed
        assert last == ("brandlens run: stopped (SIGTERM); this run had committed 0 file(s) (0 posts) and 0 "
                        "predictions; the next run goes on from there"), err
        assert runs["status"].tolist() == ["done"] * (len(runs) - 1) + ["interrupted"], runs


_CLI_RUN = [sys.executable, "-m", "analytics.cli", "run"]


def _hold_lock_in_child(workspace: Path) -> subprocess.Popen:
    """Another process that holds ``workspace``'s run lock until it is killed (says ``held`` once it does)."""
    code = ("import sys, time\nfrom analytics.monitor.runlock import run_lock\n"
            f"with run_lock({str(workspace)!r}):\n    print('held', flush=True)\n    time.sleep(3600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_says_who_holds_the_workspace_and_exits_or_waits_with_wait(tmp_path: Path) -> None:
    from analytics.monitor.runlock import RunLocked, lock_path, run_lock

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _drop(inbox, "posts.csv", _posts(range(0, 2), 3, seed=6))
    path = tmp_path / "w.duckdb"
    cmd = [*_CLI_RUN, "--workspace", str(path), "--inbox", str(inbox), "--once", "--model", "vader", "--json"]
    holder = _hold_lock_in_child(path)
    try:
        refused = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 3 and refused.stdout == "" and "Traceback" not in refused.stderr
        (line,) = refused.stderr.strip().splitlines()  # one line: who, and what to do
        assert f"PID {holder.pid} on " in line and "--wait" in line and "another `brandlens run`" in line
        with pytest.raises(RunLocked):  # in-process callers are refused the same way
            run_once(WorkspaceFile(path), inbox, model="vader", policy=FAST)
        assert not path.exists() or WorkspaceFile(path).reading().__enter__().execute(
            "SELECT count(*) FROM posts").fetchall()[0][0] == 0
    finally:
        holder.kill()  # kill -9: the kernel drops the lock with the process
        holder.wait()
    assert (lock_path(path).stat().st_mode & 0o777) == 0o600

    with run_lock(path):  # now this test holds it: a run with --wait waits, then runs
        waiting = subprocess.Popen([*cmd, "--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        told = waiting.stderr.readline()  # the state the test needs: the run is waiting for the lock
        assert "waiting for another `brandlens run`" in told and f"PID {os.getpid()} on " in told
        assert waiting.poll() is None
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert json.loads(out)["stored"] == 12


def _killed_pass(tmp_path: Path, inbox: Path, path: Path, where: str) -> None:
    """A ``brandlens run --once`` that SIGKILLs itself at ``where`` (nothing after it runs: no handler, no record)."""
    patches = {
        "after the ingest committed": "import analytics.ingest.pipeline as m\nreal = m._publish\n"
                                      "def cut(*a, **k):\n    real(*a, **k)\n    os.kill(os.getpid(), signal.SIGKILL)\n"
                                      "m._publish = cut\n",
        "before the alerts": "import analytics.monitor.pipeline as m\n"
                             "def cut(*a, **k):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
                             "m.find_alerts = cut\n",
        "while sending": "import analytics.notify.deliveries as m\n"
                         "def cut(*a, **k):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
                         "m.send = cut\n",
    }
    code = ("import os, signal, sys\n" + patches[where] + "from analytics.cli import main\n"
            f"sys.exit(main(['run', '--workspace', {str(path)!r}, '--inbox', {str(inbox)!r}, '--once', "
            "'--model', 'vader']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr  # killed where it was meant to be


@pytest.mark.parametrize("where", ["after the ingest committed", "before the alerts", "while sending"])
def test_a_pass_killed_anywhere_loses_no_alert_and_is_marked_interrupted(tmp_path: Path, receivers, where) -> None:
    hook, _ = receivers
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = tmp_path / "w.duckdb"
    workspace = WorkspaceFile(path)
    with workspace.writing():
        pass  # created and migrated
    _drop(inbox, "baseline.csv", _posts(range(0, 42), 12, seed=1))
    assert run_once(workspace, inbox, model="vader", policy=FAST).status == "done"  # history: nothing owed
    with workspace.writing() as con:
        add_channel(con, "webhook", hook.url)
    _drop(inbox, "spike.csv", _posts(range(42, 43), 12, seed=2, angry=150, day_of_anger=42))

    _killed_pass(tmp_path, inbox, path, where)
    with workspace.reading() as con:
        assert pipeline_runs(con)["status"].tolist() == ["running", "done"]  # what kill -9 leaves
    assert hook.bodies == []

    after = run_once(workspace, inbox, model="vader", policy=FAST)
    (killed,) = after.interrupted_runs
    with workspace.reading() as con:
        runs = pipeline_runs(con)
        stored = con.execute("SELECT count(*) FROM posts").fetchall()[0][0]
        alerts = con.execute("SELECT count(*) FROM alert_events WHERE NOT historical").fetchall()[0][0]
        files = dict(con.execute("SELECT file_name, status FROM inbox_files").fetchall())
    assert runs["status"].tolist() == ["done", "interrupted", "done"]
    assert killed["run_id"] == runs.iloc[1]["run_id"] and after.run_id in runs.iloc[1]["errors"]
    assert "killed" in runs.iloc[1]["errors"] and killed["committed"] in runs.iloc[1]["errors"]
    assert killed["committed"].startswith("it had committed 1 file(s) (174 posts): spike.csv")  # in each case
    assert stored == 42 * 2 * 12 + 12 * 2 + 150  # the spike stored once, whoever committed it
    assert files == {"baseline.csv": "ingested", "spike.csv": "ingested"}
    assert alerts >= 1 and len(hook.bodies) == alerts  # every new alert found and sent, once
    if where == "after the ingest committed":
        assert after.owed_files == ["spike.csv"] and after.files == [] and after.alerts_new == alerts
    assert run_once(workspace, inbox, model="vader", policy=FAST).alerts_sent == 0
    assert len(hook.bodies) == alerts


def test_one_alert_is_sent_once_even_when_another_sender_runs_at_the_same_time(tmp_path: Path, receivers) -> None:
    """Claims per alert and channel: a second sender (here nested in the first's send) skips what the first holds."""
    from analytics.notify.deliveries import deliver_owed
    from analytics.notify.send import send

    hook, _ = receivers
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    workspace = WorkspaceFile(tmp_path / "w.duckdb")
    with workspace.writing():
        pass
    _drop(inbox, "baseline.csv", _posts(range(0, 42), 12, seed=1))
    run_once(workspace, inbox, model="vader", policy=FAST)
    _drop(inbox, "spike.csv", _posts(range(42, 50), 12, seed=2, angry=150, day_of_anger=42))
    _drop(inbox, "spike2.csv", _posts(range(50, 51), 12, seed=3, angry=150, day_of_anger=50))
    found = run_once(workspace, inbox, model="vader", policy=FAST).alerts_new  # no channel yet: nothing sent
    assert found >= 2
    with workspace.writing() as con:
        add_channel(con, "webhook", hook.url)
        con.execute("UPDATE notify_channels SET created_at = TIMESTAMP '2000-01-01'")  # the alerts are owed to it
        keys = [r[0] for r in con.execute("SELECT alert_key FROM alert_events WHERE NOT historical").fetchall()]
        channel_id = con.execute("SELECT channel_id FROM notify_channels").fetchall()[0][0]

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])  # a live sender elsewhere
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a sender that was killed mid-send
    try:
        with workspace.writing() as con:
            import socket

            for key, pid in ((keys[0], sleeper.pid), (keys[1], dead.pid)):
                con.execute("INSERT INTO delivery_claims VALUES (?, ?, now()::TIMESTAMP, ?, ?)",
                            [key, channel_id, pid, socket.gethostname()])
        inner: list[object] = []

        def racing_sender(channel, message):  # noqa: ANN001 - deliver_owed's sender
            if not inner:  # while this alert is being sent, another sender starts
                inner.append(deliver_owed(workspace, policy=FAST))
            return send(channel, message, policy=FAST)

        outer = deliver_owed(workspace, policy=FAST, sender=racing_sender)
        assert outer.sent + inner[0].sent == len(keys) - 1 and outer.failed == inner[0].failed == 0
        with workspace.reading() as con:
            sent = dict(con.execute("SELECT alert_key, count(*) FROM deliveries WHERE status = 'sent' "
                                    "GROUP BY alert_key").fetchall())
        assert keys[0] not in sent  # its live sender still holds it
        assert sent == {k: 1 for k in keys[1:]} and len(hook.bodies) == len(keys) - 1  # each once
    finally:
        sleeper.kill()
        sleeper.wait()
    assert deliver_owed(workspace, policy=FAST).sent == 1  # the holder died: its alert goes now
    assert len(hook.bodies) == len(keys)


def test_two_runs_started_together_ingest_the_file_once_and_send_each_alert_once(tmp_path: Path, receivers) -> None:
    hook, _ = receivers
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = tmp_path / "w.duckdb"
    workspace = WorkspaceFile(path)
    with workspace.writing():
        pass
    _drop(inbox, "baseline.csv", _posts(range(0, 42), 12, seed=1))
    run_once(workspace, inbox, model="vader", policy=FAST)
    with workspace.writing() as con:
        add_channel(con, "webhook", hook.url)
    _drop(inbox, "spike.csv", _posts(range(42, 43), 12, seed=2, angry=150, day_of_anger=42))
    cmd = [*_CLI_RUN, "--workspace", str(path), "--inbox", str(inbox), "--once", "--model", "vader", "--json"]
    both = [subprocess.Popen([*cmd, "--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [proc.communicate(timeout=300) for proc in both]
    assert [proc.returncode for proc in both] == [0, 0], results
    summaries = [json.loads(out) for out, _ in results]
    assert sorted(s["stored"] for s in summaries) == [0, 174]  # one ingested it, the other saw it
    with workspace.reading() as con:
        alerts = con.execute("SELECT count(*) FROM alert_events WHERE NOT historical").fetchall()[0][0]
        per_key = con.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM deliveries WHERE status = 'sent' "
                              "GROUP BY alert_key)").fetchall()[0][0]
    assert alerts >= 1 and per_key == 1 and len(hook.bodies) == alerts
    assert sum(s["alerts"]["sent"] for s in summaries) == alerts
