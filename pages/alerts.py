"""Alerts: spikes in volume or negative share per brand, why they fired, and the rules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from analytics.brand import alerts
from analytics.core.errors import BrandLensError
from analytics.core.escape import markdown_text
from analytics.store import audit
from dashboard.auth import actor, current_access
from analytics.figures.alerts import alert_timeline
from dashboard.workspace import workspace_connection, writing
from dashboard.links import explain_button
from dashboard.loaders import shown
from dashboard.state import current_filters
from dashboard.fit import render_model_fit


@st.cache_data(show_spinner=False)
def load_alerts(_con, workspace: str, model_id: str, as_of: dt.datetime | None, rules: pd.DataFrame,
                brands: tuple[str, ...] | None, start: dt.datetime | None):
    """The alerts of ``brands`` from ``start`` on (topics attached to those only) and the scored series
    their timelines draw, each computed once."""
    con = _con.cursor()
    series: dict = {}
    found = alerts.detect_alerts(con, rules=rules, model_id=model_id, as_of=as_of, since=start,
                                 brands=list(brands) if brands else None, with_topics=False, series=series)
    return alerts.attach_topics(con, found, model_id=model_id), series


def main() -> None:
    st.title("Alerts")
    f = current_filters()
    render_model_fit(f)  # is the model checked on this workspace's data? (issue 22)
    try:
        con = workspace_connection(f.workspace).cursor()
        if not f.model_id:
            st.info("Score the workspace on the Models page first: alerts need the sentiment predictions.")
            return
        stored = alerts.list_rules(con)
        rules = stored[stored["enabled"]] if len(stored) else alerts.default_rules()
        linked = st.query_params.get("brand")  # a message's "Open the Alerts page" link names its alert
        found, series = load_alerts(workspace_connection(f.workspace), f.workspace, f.model_id, f.end_exclusive, rules,
                                    (linked,) if linked else f.brands, None if linked else f.start_datetime)
        if linked:
            found = found[found["brand"] == linked]
            day = st.query_params.get("period_start")
            if day:
                found = found[found["period_start"].dt.strftime("%Y-%m-%d") == day]
            st.info(f"Showing the alert a message linked to: {markdown_text(linked)}"
                    + (f", period starting {markdown_text(day)}" if day else "") + ".")
            if st.button("Show every alert"):
                st.query_params.clear()
                st.rerun()
        else:
            found = alerts.in_selection(found, brands=f.brands, start=f.start_datetime)
        st.metric("Alerts in the selection", len(found))
        if found.empty:
            st.success("No alert fired in the selected brands and dates.")
        else:
            st.dataframe(
                found[["period_start", "brand", "metric", "observed", "baseline", "z", "size", "topic_label",
                       "simple_fired", "reason"]],
                hide_index=True, width="stretch",
                column_config={"period_start": st.column_config.DatetimeColumn("period", format="YYYY-MM-DD"),
                               "z": st.column_config.NumberColumn("robust z", format="%.1f"),
                               "size": st.column_config.NumberColumn("excess posts", format="%.0f"),
                               "topic_label": "driving topic",
                               "simple_fired": st.column_config.CheckboxColumn("7-day mean+k·std rule")},
            )
            st.caption("Each alert: observed value, robust baseline, robust z and why it fired; the driving topic "
                       "gained the most share in the spike against the 28 days before; last column: whether the "
                       "common 7-day mean + k·std rule would have fired too.")
            labels = [f"{r.period_start:%Y-%m-%d} · {r.brand} · {r.metric} (z {r.z:.1f})" for r in found.itertuples()]
            chosen = st.selectbox("Alert", range(len(found)), format_func=labels.__getitem__)
            row = found.iloc[int(chosen)]
            s = series[(row["metric"], row["period"])]
            st.plotly_chart(alert_timeline(s, found, brand=row["brand"], threshold=float(row["threshold"])),
                            width="stretch")
            st.caption("Observed value per period, the robust baseline (dashed) with its band up to the threshold, "
                       "and the periods where an alert fired (red).")
            st.markdown("**Why it fired:** " + markdown_text(row["reason"]))
            posts = alerts.alert_posts(con, brand=row["brand"], metric=row["metric"],
                                       start=row["period_start"].to_pydatetime(), end=row["period_end"].to_pydatetime(),
                                       model_id=f.model_id, limit=50)
            posts = shown(con, posts)
            st.dataframe(posts[["created_at", "label", "confidence", "text"]], hide_index=True, width="stretch")
            st.caption("Posts behind the alert (negative ones for a negative-share alert), most confident first.")
            if len(posts):
                pick = st.selectbox("Post", posts["post_id"], format_func=lambda pid: pid[:12])
                explain_button(str(pick), key="alerts_explain")

        st.subheader("Rules")
        editable = stored if len(stored) else alerts.default_rules()
        edited = st.data_editor(
            editable[["rule_id", "brand", "metric", "threshold", "period", "enabled"]],
            num_rows="dynamic", hide_index=True, width="stretch", key="alert_rules_editor",
            column_config={
                "rule_id": st.column_config.TextColumn(disabled=True),
                "brand": st.column_config.SelectboxColumn(options=[""] + list(f.brands), help="empty: every brand"),
                "metric": st.column_config.SelectboxColumn(options=list(alerts.METRICS), required=True),
                "threshold": st.column_config.NumberColumn(min_value=0.5, max_value=20.0, step=0.5, required=True,
                                                           help="robust z-score that fires"),
                "period": st.column_config.SelectboxColumn(options=list(alerts.PERIODS), required=True),
            },
        )
        st.caption("Rules stored in the workspace: a robust z at or above the threshold fires.")
        if st.button("Save rules"):
            with writing(f.workspace) as wcon:
                n = alerts.replace_rules(wcon, edited)
                audit.record(wcon, actor(), "alert_rules.save", detail={"rules": n})
            st.success(f"Saved {n} rules.")
        _delivery_section(f.workspace)
    except (BrandLensError, ValueError) as exc:
        st.error(markdown_text(exc))


def _delivery_section(workspace: str) -> None:
    """Where `brandlens run` sends new alerts (admins change it), and what was sent."""
    from analytics.monitor.events import alert_events
    from analytics.notify.channels import add_channel, email_options, list_channels, remove_channel
    from analytics.notify.deliveries import deliveries

    st.subheader("Where alerts go")
    con = workspace_connection(workspace).cursor()
    channels = list_channels(con)
    if channels:
        st.dataframe(pd.DataFrame([{"id": c.channel_id, "channel": c.describe(), "added by": c.created_by or "",
                                    "added (UTC)": c.created_at} for c in channels]), hide_index=True, width="stretch")
    else:
        st.caption("No channel yet: new alerts are only shown here.")
    st.caption("The scheduled pipeline (`brandlens run`) sends each new alert once to every channel: a Slack-"
               "compatible webhook gets text and blocks, an address gets plain text and HTML. Alerts found on "
               "the first run are history: shown, not sent. Failures are retried on the next run.")
    who = current_access()
    if who.is_admin:
        with st.form("add_channel", clear_on_submit=True):
            kind = st.radio("Kind", ["webhook", "email"], horizontal=True)
            target = st.text_input("Webhook URL or e-mail address")
            smtp = st.text_input("SMTP server for e-mail (HOST:PORT)", value="")
            password_env = st.text_input("Environment variable holding the SMTP password (optional)", value="")
            user = st.text_input("SMTP user (optional)", value="")
            starttls = st.checkbox("STARTTLS")
            if st.form_submit_button("Add channel"):
                try:
                    options = (email_options(smtp, user=user or None, password_env=password_env or None,
                                             starttls=starttls) if kind == "email" else {})
                    if kind == "email" and not smtp.strip():
                        raise BrandLensError("an e-mail channel needs its SMTP server (HOST:PORT)")
                    with writing(workspace) as wcon:
                        channel = add_channel(wcon, kind, target, options, created_by=who.actor)
                        audit.record(wcon, who.actor, "channel.add", channel.channel_id, {"kind": kind})
                    st.success(f"Added {markdown_text(channel.describe())}.")
                except BrandLensError as exc:
                    st.error(markdown_text(exc))
        if channels:
            gone = st.selectbox("Remove a channel", ["(none)", *[c.channel_id for c in channels]],
                                format_func=lambda i: i if i == "(none)" else
                                next(c.describe() for c in channels if c.channel_id == i))
            if gone != "(none)" and st.button("Remove"):
                with writing(workspace) as wcon:
                    remove_channel(wcon, gone)
                    audit.record(wcon, who.actor, "channel.remove", gone)
                st.rerun()

    st.subheader("Alerts the pipeline found")
    events = alert_events(con, limit=100)
    if events.empty:
        st.caption("None yet: `brandlens run` stores every alert it finds here, once.")
    else:
        table = pd.DataFrame({
            "period": events["period_start"], "brand": events["brand"], "metric": events["metric"],
            "state": ["history (not sent)" if h else ("sent" if s else ("failed, retried next run" if fl else "owed"))
                      for h, s, fl in zip(events["historical"], events["sent"], events["failed"])],
            "sent": events["sent"], "failed attempts": events["failed"],
            "found (UTC)": events["found_at"],
        })
        st.dataframe(table, hide_index=True, width="stretch")
        log = deliveries(con, limit=200)
        if not who.is_admin:  # a webhook's URL is its secret
            log = log.drop(columns=["target"])
        with st.expander(f"Delivery log ({len(log)} most recent)"):
            st.dataframe(log, hide_index=True, width="stretch")


main()
