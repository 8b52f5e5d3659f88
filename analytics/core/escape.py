"""User data is data: one helper per kind of output keeps it from becoming markup or a formula.

Post texts, brand names, topic and aspect labels, reasons, people's names and file names
come from outside; wherever they are shown they pass through the helper of that output:

=================================  ===========================================================
output                             helper
=================================  ===========================================================
a spreadsheet (CSV, Excel export)  :func:`spreadsheet_csv`, :func:`spreadsheet_frame`
Streamlit markdown (captions ...)  :func:`markdown_text`
a Plotly string (legend, ticks)    :func:`plotly_text`, :func:`plotly_labels`
HTML (the report, HTML e-mail)     :func:`html_text`
matplotlib (the PDF report)        :func:`matplotlib_text`
a downloaded file's name           :func:`file_stem`
Slack mrkdwn (webhook payloads)    :func:`slack_text`
=================================  ===========================================================

Plain-text outputs (``st.text``, ``st.code``, table cells, select options, a plain-text
e-mail) need none.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterable

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet cell starting with one of these is read as a formula (OWASP CSV injection)."""


def spreadsheet_cell(value: object) -> object:
    """A text cell as a spreadsheet will show it, never run it: formula-like text gets a leading ``'``.

    Examples
    --------
    >>> spreadsheet_cell('=HYPERLINK("http://evil.example")')
    '\\'=HYPERLINK("http://evil.example")'
    >>> spreadsheet_cell("fine"), spreadsheet_cell(3)
    ('fine', 3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are safe to open in a spreadsheet (:func:`spreadsheet_cell`)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].map(spreadsheet_cell)
    return out


def spreadsheet_csv(frame: pd.DataFrame, *, index: bool = False) -> str:
    """``frame`` as CSV text whose cells a spreadsheet shows, never runs (:func:`spreadsheet_frame`).

    The one way the dashboard's download buttons write CSV. Rows end in CRLF (RFC 4180), so
    a cell holding a carriage return or a line break is quoted and stays one cell.

    Examples
    --------
    >>> spreadsheet_csv(pd.DataFrame({"text": ["+cmd|' /C calc'!A0", "a\\rb"]})).splitlines()
    ['text', "'+cmd|' /C calc'!A0", '"a', 'b"']
    """
    return spreadsheet_frame(frame).to_csv(index=index, lineterminator="\r\n")


# ----------------------------------------------------------------------------- markup, one helper per output

_MARKDOWN_SPECIAL = frozenset(string.punctuation)
"""Every ASCII punctuation character: CommonMark lets each be escaped, and any may mean something to it or GFM."""

_WORD_JOINER = "\u2060"
"""Invisible, zero width: it breaks what Streamlit finds in text after the escapes are read.

Streamlit's markdown finds ``:material/...:`` icons, ``:emoji:`` shortcodes and GFM's bare
links (``http://...``, ``www.example.com``, ``name@example.com``) in the text *after*
backslash escapes are resolved, so escapes alone do not stop them; a word joiner after
each ``:`` and ``@``, and *before* the ``.`` of ``www.``, does. (After the dot it does not:
GFM takes the joiner as part of the domain, and a browser drops it from the host.)
"""

_BREAK_AFTER = frozenset(":@")

_ZERO_WIDTH = "\u200b"
"""Invisible: Slack neither formats across it nor links a scheme, domain or address it splits."""

_SLACK_FORMATTING = "*_~`"


_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
"""Embeddings, overrides and isolates (not the plain marks LRM/RLM): dropped where one label's direction
could spill over the labels drawn after it."""


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def _one_line(text: str) -> str:
    return " ".join(text.split("\n")).replace("\r", " ")


def markdown_text(value: object) -> str:
    """``value`` as literal text inside a Streamlit markdown string (``st.markdown``, captions, labels, help).

    Streamlit renders markdown in far more places than ``st.markdown``: captions, titles,
    alert boxes, widget labels, button and expander labels, ``help`` tooltips and metric
    labels. A brand named ``**Bold**`` or ``[js](javascript:...)`` must show as those
    characters there, and a URL or an e-mail address in a post must not become a link.
    Every ASCII punctuation character that markdown could read is backslash-escaped
    (CommonMark lets any ASCII punctuation be escaped): no emphasis, link, image, HTML,
    code, ``$`` maths or ``:red[...]`` directive. Streamlit finds icons, emoji shortcodes
    and GFM's bare links (``http://``, ``www.``, addresses) in the text after the escapes
    are read, so an invisible word joiner follows each ``:`` and ``@`` and splits ``www`` from
    its dot, which they need (checked on the DOM Chromium renders, ``tests/test_escape_browser.py``). Line breaks become spaces, so the text cannot start a heading, list or quote.

    Examples
    --------
    >>> markdown_text("**Bold** [js](javascript:alert(1))")
    '\\\\*\\\\*Bold\\\\*\\\\* \\\\[js\\\\]\\\\(javascript\\\\:\\u2060alert\\\\(1\\\\)\\\\)'
    >>> markdown_text("ana@example.com") == "ana\\\\@\\u2060example\\\\.com"
    True
    >>> markdown_text("www.evil.example") == "www\\u2060\\\\.evil\\\\.example"
    True
    >>> markdown_text(None), markdown_text(3)
    ('', '3')
    """
    text = _one_line(_as_text(value))
    out = []
    for i, ch in enumerate(text):
        if ch in _MARKDOWN_SPECIAL:
            if ch == "." and text[max(0, i - 3):i].lower() == "www":
                out.append(_WORD_JOINER)  # "www⁠." is no longer GFM's "www." link start
            out.append("\\" + ch)
            if ch in _BREAK_AFTER:
                out.append(_WORD_JOINER)
        else:
            out.append(ch)
    return "".join(out)


def plotly_text(value: object) -> str:
    """``value`` as literal text in a Plotly string: trace names, category values, ticks, hover, titles.

    Plotly draws its strings as a small HTML subset (``<a href>``, ``<b>``, ``<br>``,
    ``<span style>``) and decodes entities, so a brand named ``<a href="...">X</a>`` becomes
    a live link in a legend or an axis unless ``&``, ``<`` and ``>`` are written as
    entities; the entities then display as the characters themselves. Category values
    (brands on an x axis, topic labels on a y axis) are shown as tick labels and in hover
    text, so builders pass them through this helper too (see :func:`plotly_labels`).

    Bidirectional controls (a right-to-left override ``U+202E``, embeddings, isolates) are
    dropped: in a legend or on an axis they would reverse the names drawn after them.

    Examples
    --------
    >>> plotly_text("\u202eAcme") == "Acme"
    True
    >>> plotly_text('<a href="http://localhost:9/">Click</a> & co')
    '&lt;a href="http://localhost:9/"&gt;Click&lt;/a&gt; &amp; co'
    """
    text = _as_text(value).translate(_BIDI_CONTROLS)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plotly_labels(values: Iterable[object]) -> list[str]:
    """:func:`plotly_text` of each value, for a trace's categories or tick labels."""
    return [plotly_text(v) for v in values]


def html_text(value: object) -> str:
    """``value`` as literal text in an HTML document or attribute (the HTML report, HTML e-mail).

    Examples
    --------
    >>> html_text("<script>alert('x')</script>")
    '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;'
    """
    return html.escape(_as_text(value), quote=True)


def slack_text(value: object) -> str:
    """``value`` as literal text in Slack ``mrkdwn`` (webhook payloads).

    Slack reads ``&``, ``<`` and ``>`` as control characters (``<url|label>`` links,
    ``<!channel>`` mentions), so they become ``&amp;``, ``&lt;``, ``&gt;`` as Slack's
    formatting reference asks. Slack has no escape for ``*bold*``, ``_italic_``,
    ``~strike~`` and `` `code` ``, nor for links it finds by itself in ``http://...``,
    ``www.example.com`` and ``name@example.com``: a zero-width space around each
    formatting character and after each ``:``, ``.`` and ``@`` leaves the text looking
    the same while nothing formats or links. Line breaks become spaces.

    Examples
    --------
    >>> slack_text("<!channel> *urgent*") == "&lt;!channel&gt; \\u200b*\\u200burgent\\u200b*\\u200b"
    True
    >>> "://" in slack_text("see http://evil.example")
    False
    """
    out = []
    for ch in _one_line(_as_text(value)):
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in _SLACK_FORMATTING:
            out.append(_ZERO_WIDTH + ch + _ZERO_WIDTH)
        elif ch in ":.@":
            out.append(ch + _ZERO_WIDTH)
        else:
            out.append(ch)
    return "".join(out)


def matplotlib_text(value: object) -> str:
    """``value`` as literal text in a matplotlib label (the PDF report): ``$`` would start mathtext.

    An unmatched ``$`` in a brand name would even stop the PDF from being drawn.

    Examples
    --------
    >>> matplotlib_text("Pay$Pal $x^2$")
    'Pay\\\\$Pal \\\\$x^2\\\\$'
    """
    return _as_text(value).replace("$", "\\$")


def file_stem(value: object, *, default: str = "export") -> str:
    """``value`` as the stem of a file name offered for download: letters, digits, ``.``, ``-``, ``_`` only.

    Examples
    --------
    >>> file_stem('<a href="x">Click</a> & Co'), file_stem("../.."), file_stem("Nimbus Mobile")
    ('a-href-x-Click-a-Co', 'export', 'Nimbus-Mobile')
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", _as_text(value)).strip("-.")[:60].strip("-.")
    return stem or default
