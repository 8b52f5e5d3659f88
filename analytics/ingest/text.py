"""Clean post text: decode HTML entities and literal escapes, normalise whitespace.

The original string is kept beside the cleaned one (``posts.original_text``). Decoding is
deliberately narrow so that ordinary backslashes survive:

* HTML entities (``&amp;``, ``&#39;``, ``&eacute;``) through :func:`html.unescape`;
* literal escapes as JSON and some exports write them: ``\\uXXXX`` (surrogate pairs joined),
  ``\\UXXXXXXXX``, and ``\\n``, ``\\r``, ``\\t`` (which then become spaces);
* any run of whitespace (including non-breaking spaces) becomes one space; ends are trimmed.

Only the rows that contain ``&`` or ``\\`` go through Python; the rest is vectorised.
"""

from __future__ import annotations

import html
import re

import pandas as pd

_ESCAPE = re.compile(
    r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"  # surrogate pair
    r"|\\u([0-9a-fA-F]{4})"
    r"|\\U([0-9a-fA-F]{8})"
    r"|\\([nrt])"
)
_WHITESPACE = r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+"
_WS_RE2 = r"\s\x{00a0}\x{2000}-\x{200b}\x{202f}\x{205f}\x{3000}\x{feff}"
# Same set in RE2 syntax; only runs of 2+ or non-space characters are rewritten (single spaces stay): faster.
_WHITESPACE_RE2 = rf"[{_WS_RE2}]{{2,}}|[\t\n\r\f\v\x{{00a0}}\x{{2000}}-\x{{200b}}\x{{202f}}\x{{205f}}\x{{3000}}\x{{feff}}]"
_CONTROL = {"n": "\n", "r": "\r", "t": "\t"}


def _escape(match: re.Match[str]) -> str:
    high, low, bmp, astral, control = match.groups()
    if high is not None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    if bmp is not None:
        code = int(bmp, 16)
        return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)  # lone surrogate: keep
    if astral is not None:
        code = int(astral, 16)
        return chr(code) if code <= 0x10FFFF else match.group(0)
    return _CONTROL[control]


def decode_escapes(text: str) -> str:
    """Decode HTML entities and literal ``\\uXXXX``-style escapes in one string.

    Examples
    --------
    >>> decode_escapes(r"I\\u2019m here &amp; there\\u002c ok")
    'I’m here & there, ok'
    """
    if "\\" in text:
        text = _ESCAPE.sub(_escape, text)
    if "&" in text:
        text = html.unescape(text)
    return text


def clean_text(text: str) -> str:
    """Clean one text (see the module docstring).

    Examples
    --------
    >>> clean_text("  too\\n many   spaces &lt;3 ")
    'too many spaces <3'
    """
    return re.sub(_WHITESPACE, " ", decode_escapes(text)).strip()


_COMMON_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&apos;", "'"), ("&amp;", "&"))
# &amp; last, so "&amp;lt;" becomes "&lt;" (one level of decoding, as html.unescape does).
_ENTITY_RE2 = r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?"
_ESCAPE_RE2 = r"\\[uUnrt]"


def clean_texts(texts: pd.Series) -> pd.Series:
    """Vectorised :func:`clean_text` for a Series of strings (same index).

    Texts whose only entities are the common five (``&amp;`` ``&lt;`` ``&gt;`` ``&quot;``
    ``&#39;``) are decoded with Arrow kernels; texts with other entities or literal escapes
    go through :func:`decode_escapes` in Python. Both give what :func:`clean_text` gives.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    original = pa.array(texts.astype(str).to_numpy(dtype=object), type=pa.string())
    array = original
    needs = pc.match_substring_regex(original, _ESCAPE_RE2)
    if pc.any(pc.match_substring(original, "&")).as_py():
        entities = pc.count_substring_regex(original, _ENTITY_RE2)
        common = pc.count_substring(original, _COMMON_ENTITIES[0][0])
        for entity, _ in _COMMON_ENTITIES[1:]:
            common = pc.add(common, pc.count_substring(original, entity))
        for entity, char in _COMMON_ENTITIES:
            array = pc.replace_substring(array, entity, char)
        needs = pc.or_(needs, pc.greater(entities, common))
    mask = needs.to_numpy(zero_copy_only=False)
    if mask.any():
        values = array.to_numpy(zero_copy_only=False).astype(object)
        raw = original.to_numpy(zero_copy_only=False)
        values[mask] = [decode_escapes(v) for v in raw[mask]]
        array = pa.array(values, type=pa.string())
    cleaned = pc.utf8_trim_whitespace(pc.replace_substring_regex(array, _WHITESPACE_RE2, " "))
    result = cleaned.to_pandas().astype("str")
    result.index = texts.index
    return result
