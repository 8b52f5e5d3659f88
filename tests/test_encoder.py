"""Sentence embeddings for topics: unit vectors, order kept, similar texts closer."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.models.encoder import EMBEDDING_DIM, embed_texts, encoder_dir


def test_encoder_dir_is_a_local_hugging_face_directory() -> None:
    assert (encoder_dir() / "config.json").is_file()


def test_embeddings_are_unit_vectors_in_input_order_and_batch_independent() -> None:
    texts = ["my flight was delayed three hours", "the plane left late again", "I bought a red dress", "hi"]
    vectors = embed_texts(texts, batch_size=2)
    assert vectors.shape == (4, EMBEDDING_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embed_texts(texts[2:3])[0], vectors[2], atol=1e-5)
    similarity = vectors @ vectors.T
    # e5's cosines sit high (0.8 for unrelated sentences): the nearer pair must still win by a margin
    assert np.argsort(similarity[0])[-2] == 1
    assert similarity[0, 1] > similarity[0, 2] + 0.05


def test_embed_texts_validates_its_input() -> None:
    assert embed_texts([]).shape == (0, EMBEDDING_DIM)
    with pytest.raises(ValueError, match="batch_size"):
        embed_texts(["a"], batch_size=0)
    with pytest.raises(ValueError, match="one string"):
        embed_texts("a tweet")
