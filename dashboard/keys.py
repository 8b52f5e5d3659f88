"""Session-state keys that more than one page reads or writes, each defined once.

Pages hand work to each other through these (a chart's "posts behind this" button sets the
explorer's drill-down, an Explain button sets the post to explain). A key used by one page
only stays in that page, named with the page's prefix.
"""

from __future__ import annotations

# the sidebar's choices (dashboard.state.Filters); plain keys survive page switches
WORKSPACE = "workspace"
OUR_BRAND = "our_brand"
COMPETITORS = "competitors"
DATE_RANGE = "date_range"
MODEL_ID = "model_id"
FILTER_KEYS: tuple[str, ...] = (WORKSPACE, OUR_BRAND, COMPETITORS, DATE_RANGE, MODEL_ID)
DATE_BOUNDS_SEEN = "date_bounds_seen"
"""The workspace's first and last day when the sidebar last drew: a range ending there follows new posts."""

EXPLAIN_POST = "explain_post_id"
"""Post id the Explanations page opens on (set by every Explain button)."""

EXPLORER_BRAND = "explorer_brand"
"""Brand of a drill-down into the Post explorer (Brand monitor's "posts behind this chart")."""

EXPLORER_DATES = "explorer_date"
"""``(first day, last day)`` of a drill-down into the Post explorer."""

EVALUATION_BRAND = "evaluation_brand"
"""Brand the Model evaluation page focuses on (Brand monitor's "how far to trust the model here")."""

DATA_VERSION = "data_version"
"""Bumped by a page after it wrote to the workspace, so cached tables are read again."""
