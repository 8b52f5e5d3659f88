"""The text a sentiment model reads, the same in training and at inference time."""

from __future__ import annotations

import re

_MENTION = re.compile(r"(?<![\w@])@\w{1,30}")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def normalise_tweet(text: str) -> str:
    """The text a sentiment model reads: user mentions as ``@user``, links as ``http``, spaces folded.

    Used for training and at inference time alike, so that the model sees the same
    distribution of tokens in both.
    """
    text = _URL.sub("http", text)
    text = _MENTION.sub("@user", text)
    return _SPACE.sub(" ", text).strip()
