"""Masking of personal data in shown text, salted author hashes, the mask_pii setting."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics import store
from analytics.ingest import ingest_frame
from analytics.privacy import (
    author_salt,
    brand_handles,
    display_texts,
    hash_author,
    mask_text,
    masker_for,
    masking_enabled,
    set_masking,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+x@mail.example.co.uk please", "write to [email] please"),
        ("call +1 (555) 123-4567 or 0176 1234567", "call [phone] or [phone]"),
        ("@jane_doe and @Bob42 agree", "@[user] and @[user] agree"),
        ("flight UA1234 left 2015-02-24 11:35, gate 12, $1,200", "flight UA1234 left 2015-02-24 11:35, gate 12, $1,200"),
        ("no personal data here", "no personal data here"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_brand_accounts_are_kept() -> None:
    text = "@united @AmericanAir @SouthwestAir @DeltaAssist @VirginAmerica @united_fan_joe @randomguy"
    masked = mask_text(text, keep_handles=["United", "American", "Southwest", "Delta", "Virgin America"])
    assert masked == "@united @AmericanAir @SouthwestAir @DeltaAssist @VirginAmerica @[user] @[user]"
    assert mask_text("@JetBlue hi", keep_handles=["@jetblue"]) == "@JetBlue hi"


def test_mask_text_validates_input() -> None:
    with pytest.raises(ValueError, match="text must be a string"):
        mask_text(None)  # type: ignore[arg-type]


def test_hash_author_is_salted_and_stable() -> None:
    assert hash_author("jnardino", salt="a") == hash_author("jnardino", salt="a")
    assert hash_author("jnardino", salt="a") != hash_author("jnardino", salt="b")
    assert len(hash_author("x", salt="s")) == 64 and "x" != hash_author("x", salt="s")
    with pytest.raises(ValueError):
        hash_author("x", salt="")


def test_workspace_settings_drive_display(workspace) -> None:
    with store.open_workspace(workspace) as con:
        frame = pd.DataFrame({"text": ["@Acme ask @jane at jane@x.org"], "brand": ["Acme"], "author": ["Jane Roe"]})
        ingest_frame(con, frame, source="t")
        salt = author_salt(con)
        assert salt == author_salt(con) and len(salt) == 32  # generated once, then kept
        stored_text, stored_hash = con.execute("SELECT text, author_hash FROM posts").fetchall()[0]
        assert stored_text == "@Acme ask @jane at jane@x.org"  # stored unmasked for the models
        assert stored_hash == hash_author("Jane Roe", salt=salt)
        assert masking_enabled(con)
        assert brand_handles(con) == ["Acme"]
        assert display_texts(con, [stored_text, None]) == ["@Acme ask @[user] at [email]", None]
        store.set_setting(con, "brand_handles", "@jane, other")
        assert masker_for(con)("@jane") == "@jane"
        set_masking(con, False)
        assert not masking_enabled(con)
        assert display_texts(con, [stored_text]) == [stored_text]
