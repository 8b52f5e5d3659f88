"""VADER explained by its lexicon contributions (from :mod:`analytics.models.vader`)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd


@lru_cache(maxsize=1)
def _vader():
    from analytics.models.vader import VaderSentiment

    return VaderSentiment()


def vader_contributions(text: str) -> pd.DataFrame:
    """Each VADER token of ``text`` with its valence after VADER's rules (0 outside the lexicon).

    Columns ``token, valence``; see :meth:`analytics.models.vader.VaderSentiment.lexicon_contributions`.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    return pd.DataFrame(_vader().lexicon_contributions(text), columns=["token", "valence"])
