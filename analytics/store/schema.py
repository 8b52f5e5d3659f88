"""The workspace schema: every table the product uses, created through numbered migrations.

A workspace written by an older version opens in a newer one: each entry of
:data:`MIGRATIONS` moves the schema one version up, in its own transaction. Append;
never edit a shipped one.

Time columns hold UTC as naive ``TIMESTAMP`` values (DuckDB's ``TIMESTAMPTZ`` would
render in the session's zone, which differs between machines).
"""

from __future__ import annotations

import duckdb

# Each entry migrates the schema from version i to i + 1. Append; never edit a shipped one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE settings (
        key VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    );
    CREATE TABLE ingest_runs (
        run_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        rows_read BIGINT,
        stored BIGINT,
        duplicates BIGINT,
        quarantined BIGINT,
        mapping JSON,
        status VARCHAR NOT NULL
    );
    CREATE TABLE posts (
        post_id VARCHAR PRIMARY KEY,       -- hash of source and content: stable across re-ingests
        source VARCHAR NOT NULL,
        source_id VARCHAR,                 -- the export's own id, when it survived the export intact
        brand VARCHAR,
        created_at TIMESTAMP,              -- UTC; NULL when the source has no time
        text VARCHAR NOT NULL,             -- cleaned text the models read
        original_text VARCHAR NOT NULL,    -- exactly as read
        author_hash VARCHAR,               -- salted hash; names are never stored
        region VARCHAR,
        timezone VARCHAR,
        language VARCHAR,
        segment VARCHAR,                   -- the column mapped with group=COL
        aspect VARCHAR,                    -- a complaint reason or aspect given by the source
        gold_label VARCHAR,                -- negative | neutral | positive, from the source
        gold_origin VARCHAR,               -- e.g. 'source:airline_sentiment'
        gold_confidence DOUBLE,            -- annotator confidence, when the source has one
        extra JSON,                        -- every unmapped column of the row
        ingest_run VARCHAR NOT NULL
    );
    CREATE TABLE quarantine (
        run_id VARCHAR NOT NULL,
        source_file VARCHAR NOT NULL,
        row_number BIGINT,                 -- 1-based data row in the file (header excluded)
        column_name VARCHAR,
        raw_row JSON,
        reason VARCHAR NOT NULL,
        quarantined_at TIMESTAMP NOT NULL
    );
    CREATE TABLE predictions (
        post_id VARCHAR NOT NULL,
        model_id VARCHAR NOT NULL,
        p_negative DOUBLE NOT NULL,
        p_neutral DOUBLE NOT NULL,
        p_positive DOUBLE NOT NULL,
        label VARCHAR NOT NULL,
        scored_at TIMESTAMP NOT NULL,
        PRIMARY KEY (post_id, model_id)
    );
    CREATE TABLE label_corrections (
        post_id VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        origin VARCHAR NOT NULL,           -- who or what corrected it, e.g. 'explorer:alice'
        corrected_at TIMESTAMP NOT NULL
    );
    CREATE TABLE topics (
        post_id VARCHAR NOT NULL,
        method VARCHAR NOT NULL,           -- 'aspect' (from the source) or 'embedding-kmeans' ...
        topic_id INTEGER NOT NULL,
        PRIMARY KEY (post_id, method)
    );
    CREATE TABLE topic_labels (
        method VARCHAR NOT NULL,
        topic_id INTEGER NOT NULL,
        label VARCHAR NOT NULL,
        keywords JSON,
        PRIMARY KEY (method, topic_id)
    );
    CREATE TABLE alert_rules (
        rule_id VARCHAR PRIMARY KEY,
        brand VARCHAR,                     -- NULL: every brand
        metric VARCHAR NOT NULL,           -- 'volume' | 'negative_share'
        threshold DOUBLE NOT NULL,         -- robust z-score that fires the rule
        period VARCHAR NOT NULL,           -- 'day' | 'week' ('window' is reserved in DuckDB)
        enabled BOOLEAN NOT NULL DEFAULT TRUE,
        created_at TIMESTAMP NOT NULL
    );
    CREATE TABLE explanations (
        cache_key VARCHAR PRIMARY KEY,     -- hash of model id, text and settings
        model_id VARCHAR NOT NULL,
        post_id VARCHAR,
        payload JSON NOT NULL,
        created_at TIMESTAMP NOT NULL
    );
    -- The label evaluation uses: a person's latest correction wins over the source's label.
    CREATE VIEW gold_labels AS
    SELECT p.post_id,
           coalesce(c.label, p.gold_label) AS label,
           CASE WHEN c.label IS NOT NULL THEN c.origin ELSE p.gold_origin END AS origin,
           CASE WHEN c.label IS NOT NULL THEN 1.0 ELSE p.gold_confidence END AS confidence
    FROM posts p
    LEFT JOIN (
        SELECT post_id, arg_max(label, corrected_at) AS label, arg_max(origin, corrected_at) AS origin
        FROM label_corrections GROUP BY post_id
    ) c USING (post_id)
    WHERE coalesce(c.label, p.gold_label) IS NOT NULL;
    """,
    # 2: the model learns the workspace's domain (labelling queue, adapted models) and knows what it cannot read
    """
    ALTER TABLE posts ADD COLUMN detected_language VARCHAR;   -- ISO 639-1 code from the detector, at ingest
    ALTER TABLE posts ADD COLUMN language_score DOUBLE;       -- the detector's probability for it
    ALTER TABLE label_corrections ADD COLUMN chosen_by VARCHAR;  -- how the post came to be labelled (see labelling)
    CREATE TABLE label_skips (
        post_id VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,           -- 'skip' (not now) | 'off_topic' (not about the brand)
        origin VARCHAR NOT NULL,
        skipped_at TIMESTAMP NOT NULL
    );
    CREATE TABLE workspace_models (
        model_id VARCHAR PRIMARY KEY,      -- e.g. 'adapted-20261201-1532': usable wherever a model id is
        base VARCHAR NOT NULL,
        method VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        card JSON NOT NULL,                -- data, counts, method, held-out figures
        artifact BLOB NOT NULL             -- the small delta on the shipped encoder (safetensors bytes)
    );
    CREATE TABLE model_labels (            -- which gold labels an adapted model trained on or held out
        model_id VARCHAR NOT NULL,
        post_id VARCHAR NOT NULL,
        split VARCHAR NOT NULL,            -- 'train' | 'holdout'
        PRIMARY KEY (model_id, post_id)
    );
    CREATE TABLE crossfit_predictions (    -- out-of-fold probabilities of an adapted model on its training labels
        model_id VARCHAR NOT NULL,
        post_id VARCHAR NOT NULL,
        p_negative DOUBLE NOT NULL,
        p_neutral DOUBLE NOT NULL,
        p_positive DOUBLE NOT NULL,
        PRIMARY KEY (model_id, post_id)
    );
    CREATE OR REPLACE VIEW gold_labels AS
    SELECT p.post_id,
           coalesce(c.label, p.gold_label) AS label,
           CASE WHEN c.label IS NOT NULL THEN c.origin ELSE p.gold_origin END AS origin,
           CASE WHEN c.label IS NOT NULL THEN 1.0 ELSE p.gold_confidence END AS confidence,
           CASE WHEN c.label IS NOT NULL THEN coalesce(c.chosen_by, 'person') ELSE 'source' END AS chosen_by
    FROM posts p
    LEFT JOIN (
        SELECT post_id, arg_max(label, corrected_at) AS label, arg_max(origin, corrected_at) AS origin,
               arg_max(chosen_by, corrected_at) AS chosen_by
        FROM label_corrections GROUP BY post_id
    ) c USING (post_id)
    WHERE coalesce(c.label, p.gold_label) IS NOT NULL;
    """,
    # v3: the always-on pipeline (runs, inbox files, alert events and their deliveries,
    # notification channels) and the audit trail of what signed-in people changed.
    """
    CREATE TABLE audit_log (                -- who changed what, when (corrections, rules, uploads, channels, privacy)
        audit_id VARCHAR PRIMARY KEY,
        recorded_at TIMESTAMP NOT NULL,
        actor VARCHAR NOT NULL,             -- the signed-in e-mail, or 'local' / 'cli:<user>' without sign-in
        action VARCHAR NOT NULL,
        target VARCHAR,
        detail JSON
    );
    CREATE TABLE pipeline_runs (            -- one `brandlens run` pass over an inbox
        run_id VARCHAR PRIMARY KEY,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        status VARCHAR NOT NULL,            -- running | done | failed | interrupted
        inbox VARCHAR,
        model_id VARCHAR,
        summary JSON,                       -- the run's --json object
        errors JSON
    );
    CREATE TABLE inbox_files (              -- files of an inbox already seen, by content hash
        content_hash VARCHAR PRIMARY KEY,
        file_name VARCHAR NOT NULL,
        size BIGINT,
        seen_at TIMESTAMP NOT NULL,
        pipeline_run_id VARCHAR,
        ingest_run_id VARCHAR,
        status VARCHAR NOT NULL,            -- ingested | failed
        error VARCHAR
    );
    CREATE TABLE notify_channels (
        channel_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,              -- webhook | email
        target VARCHAR NOT NULL,            -- the URL or the address
        options JSON,                       -- SMTP host/port/user, the password's environment variable, starttls
        created_at TIMESTAMP NOT NULL,
        created_by VARCHAR
    );
    CREATE TABLE alert_events (             -- every alert the pipeline has found, once
        alert_key VARCHAR PRIMARY KEY,      -- model, rule, brand, metric, period and its start
        found_at TIMESTAMP NOT NULL,
        historical BOOLEAN NOT NULL,        -- found on a first run: known, not sent
        brand VARCHAR,
        metric VARCHAR,
        period VARCHAR,
        period_start TIMESTAMP,
        payload JSON
    );
    CREATE TABLE deliveries (               -- every attempt to send an alert or a digest
        delivery_id VARCHAR PRIMARY KEY,
        alert_key VARCHAR,                  -- NULL for a digest or a test message
        kind VARCHAR NOT NULL,              -- alert | digest | test
        channel_id VARCHAR,
        target VARCHAR,
        attempted_at TIMESTAMP NOT NULL,
        status VARCHAR NOT NULL,            -- sent | failed
        attempts INTEGER NOT NULL,
        error VARCHAR
    );
    """,
    # v4: complaint and general topics discovered beside the source's aspects, and each build's
    # assignment model, so new posts join the existing topics without re-clustering. (topics and
    # topic_labels keep their columns: other code inserts into them positionally.)
    """
    CREATE TABLE topic_builds (             -- one row per discovered topic method ('complaint', 'general'): its latest build
        method VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,              -- 'complaint' (negative posts) | 'general' (all posts)
        built_at TIMESTAMP NOT NULL,
        model_id VARCHAR,                   -- complaint topics: the model whose negative predictions they cover
        n_posts BIGINT NOT NULL,
        n_topics INTEGER NOT NULL,
        n_far BIGINT NOT NULL,              -- of n_posts, far from every topic
        assigned_since BIGINT NOT NULL DEFAULT 0,  -- posts assigned incrementally since the build
        far_since BIGINT NOT NULL DEFAULT 0,       -- of those, far from every topic
        last_assigned_at TIMESTAMP,
        params JSON,
        assigner BLOB NOT NULL              -- vocabulary, idf and weights of the assignment model (.npz bytes)
    );
    """,
    # v5: one sender per alert and channel, across processes (two `brandlens run` never send an
    # alert twice); inbox_files.status gains 'pending' (see analytics.monitor.inbox).
    """
    CREATE TABLE delivery_claims (          -- an alert being sent to a channel right now, and by whom
        alert_key VARCHAR NOT NULL,
        channel_id VARCHAR NOT NULL,
        claimed_at TIMESTAMP NOT NULL,
        pid INTEGER NOT NULL,               -- the sender's process: a dead one's claim is taken over
        host VARCHAR NOT NULL,
        PRIMARY KEY (alert_key, channel_id)
    );
    """,
    # v6: BrandLens 2's default model is a new one (multilingual-e5-small); what the old default
    # (MiniLM-L6) stored under 'default' is its now, under its own id 'minilm-v1', which stays
    # loadable. Alert identities keep hashing it as 'default' (analytics.monitor.events.alert_key),
    # so no alert is found, or sent, twice for the rename.
    """
    UPDATE predictions SET model_id = 'minilm-v1' WHERE model_id = 'default';
    UPDATE explanations SET model_id = 'minilm-v1' WHERE model_id = 'default';
    UPDATE workspace_models SET base = 'minilm-v1' WHERE base = 'default';
    UPDATE pipeline_runs SET model_id = 'minilm-v1' WHERE model_id = 'default';
    UPDATE topic_builds SET model_id = 'minilm-v1' WHERE model_id = 'default';
    UPDATE settings SET value = 'minilm-v1' WHERE key = 'active_model' AND value = 'default';
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the schema version of an open workspace (0 for an empty file)."""
    # fetchall, not fetchone: DuckDB keeps a half-read result open, which blocks a later register().
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    rows = con.execute("SELECT max(version) FROM schema_version").fetchall()
    return int(rows[0][0] or 0)


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring a workspace up to :data:`SCHEMA_VERSION`, each step in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)"
    )
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"workspace schema version {current} is newer than this BrandLens ({SCHEMA_VERSION}); upgrade BrandLens"
        )
    for version in range(current, SCHEMA_VERSION):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(MIGRATIONS[version])
            con.execute(
                "INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)", [version + 1]
            )
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:  # a signal inside COMMIT ("Query interrupted") already ended the transaction
                pass
            raise  # the interruption itself, not the failed rollback, reaches the caller
    return SCHEMA_VERSION
