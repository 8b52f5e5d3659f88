"""The always-on side: the scheduled pipeline over an inbox, and the alerts it finds once.

- :mod:`.inbox` — which files of a drop folder are new (by content hash, not by name);
- :mod:`.events` — alerts found by the pipeline, each stored once (new or historical);
- :mod:`.pipeline` — one ``brandlens run`` pass: ingest, score, assign topics, find alerts,
  deliver them (:mod:`analytics.notify`), record the run.
"""
