"""Anonymisation: masked display text and salted author hashes.

Decision on what is stored
--------------------------
``posts.text`` is stored **unmasked**. The sentiment models, topic extraction and
explanations need the words as written (a brand handle, or even a masked phone number,
changes a tokenisation), and the workspace setting ``mask_pii`` must be able to turn
masking off again, which a masked copy could not. Masking is therefore applied where
text leaves the store for a person: every page that shows post text passes it through
:func:`display_texts` (or :func:`masker_for` once per page). Data minimisation is met on
the other axis: author names are never stored, only ``sha256(salt + name)``, with a random
salt generated once per workspace (setting ``author_salt``), so identical names link
within a workspace but cannot be looked up across workspaces or from a list of names.

What is masked (when ``mask_pii`` is ``"true"``, the default)
-------------------------------------------------------------
* e-mail addresses -> ``[email]``;
* phone numbers (7 to 15 digits, with optional ``+``, spaces, dots, dashes, brackets) -> ``[phone]``;
* ``@handles`` of private persons -> ``@[user]``. Brand accounts are kept: a handle is a
  brand's when, ignoring case and punctuation, it equals a brand name of the workspace or a
  handle listed in the setting ``brand_handles`` (comma separated), or starts with one
  followed only by a usual suffix (``@AmericanAir``, ``@SouthwestAir``, ``@DeltaAssist``
  for brands American, Southwest, Delta).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb

from analytics.store import get_setting, set_setting

MASK_SETTING = "mask_pii"
SALT_SETTING = "author_salt"
BRAND_HANDLES_SETTING = "brand_handles"

EMAIL_MASK, PHONE_MASK, HANDLE_MASK = "[email]", "[phone]", "@[user]"

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_PHONE = re.compile(r"(?<![\w+])\+?(?:\(\d{1,4}\)|\d)[\d\s().-]{5,18}\d(?![\w:])")
_HANDLE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{1,30})\b")
_BRAND_SUFFIXES = ("", "air", "airline", "airlines", "airways", "support", "help", "helps", "assist",
                   "care", "cares", "official", "team", "news", "app", "hq", "uk", "us", "usa")


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:\s+\d{1,2}(?:[:.]\d{2})?)?")


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    if not 7 <= digits <= 15 or _DATE_LIKE.fullmatch(found.strip()):
        return found
    return PHONE_MASK


@dataclass(frozen=True)
class Masker:
    """Masks one text at a time for a fixed set of brand names/handles to keep."""

    keep: frozenset[str] = frozenset()
    enabled: bool = True

    def is_brand_handle(self, handle: str) -> bool:
        """Whether ``handle`` (without ``@``) belongs to a kept brand."""
        norm = _norm(handle)
        return any(norm == k + s for k in self.keep for s in _BRAND_SUFFIXES)

    def _handle(self, match: re.Match[str]) -> str:
        return match.group(0) if self.is_brand_handle(match.group(1)) else HANDLE_MASK

    def __call__(self, text: str | None) -> str | None:
        if text is None or not self.enabled:
            return text
        text = _EMAIL.sub(EMAIL_MASK, text)
        text = _PHONE.sub(_phone, text)
        return _HANDLE.sub(self._handle, text)


def mask_text(text: str, *, keep_handles: Iterable[str] = ()) -> str:
    """Mask e-mail addresses, phone numbers and private ``@handles`` in ``text``.

    Parameters
    ----------
    text : str
        The text to mask.
    keep_handles : iterable of str, default ()
        Brand names or handles (with or without ``@``) whose accounts stay visible.

    Examples
    --------
    >>> mask_text("@united ask @jane_doe, mail jd@example.com or +1 (555) 123-4567",
    ...           keep_handles=["United"])
    '@united ask @[user], mail [email] or [phone]'
    >>> mask_text("@AmericanAir flight 1234 at 10:30", keep_handles=["American"])
    '@AmericanAir flight 1234 at 10:30'
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    return Masker(frozenset(_norm(h) for h in keep_handles if _norm(h)))(text)


def hash_author(name: str, *, salt: str) -> str:
    """Salted SHA-256 of an author name (hex); equals DuckDB's ``sha256(salt || name)``.

    Examples
    --------
    >>> hash_author("jnardino", salt="s")[:12]
    '579e36968fe2'
    """
    if not isinstance(name, str) or not isinstance(salt, str) or not salt:
        raise ValueError("name must be a string and salt a non-empty string")
    return hashlib.sha256((salt + name).encode("utf-8")).hexdigest()


def author_salt(con: duckdb.DuckDBPyConnection) -> str:
    """The workspace's author salt, generated (random, 32 hex digits) on first use."""
    salt = get_setting(con, SALT_SETTING)
    if not salt:
        salt = secrets.token_hex(16)
        set_setting(con, SALT_SETTING, salt)
    return salt


def masking_enabled(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the workspace masks personal data in shown text (setting ``mask_pii``, default on)."""
    return (get_setting(con, MASK_SETTING, "true") or "true").strip().lower() not in ("false", "0", "no", "off")


def set_masking(con: duckdb.DuckDBPyConnection, enabled: bool) -> None:
    """Turn masking of shown text on or off for the workspace."""
    set_setting(con, MASK_SETTING, "true" if enabled else "false")


def brand_handles(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Brand names in the workspace plus the handles listed in the ``brand_handles`` setting."""
    names = [r[0] for r in con.execute("SELECT DISTINCT brand FROM posts WHERE brand IS NOT NULL").fetchall()]
    listed = [h.strip().lstrip("@") for h in (get_setting(con, BRAND_HANDLES_SETTING, "") or "").split(",")]
    return sorted({*names, *(h for h in listed if h)})


def masker_for(con: duckdb.DuckDBPyConnection) -> Masker:
    """A :class:`Masker` configured from the workspace's settings and brands (build once per page)."""
    return Masker(frozenset(_norm(h) for h in brand_handles(con) if _norm(h)), masking_enabled(con))


def display_texts(con: duckdb.DuckDBPyConnection, texts: Sequence[str | None]) -> list[str | None]:
    """The texts as pages may show them: masked unless the workspace turned masking off.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> from analytics.store import migrate; _ = migrate(con)
    >>> display_texts(con, ["call me at 0176 1234567"])
    ['call me at [phone]']
    """
    masker = masker_for(con)
    return [masker(t) for t in texts]
