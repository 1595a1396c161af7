"""The torch-free MiniLM embedder: shape, normalisation, padding invariance, exactness."""

from __future__ import annotations

import numpy as np

from newsdesk.enrich.embed import Embedder, article_text, load_embedder


def test_vectors_are_unit_float32_rows(embedder: Embedder) -> None:
    vectors = embedder.encode(["Kim Jong Un meets Russia's culture minister", "Oil prices rise"])
    assert vectors.shape == (2, embedder.dim) == (2, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input_gives_empty_matrix(embedder: Embedder) -> None:
    assert embedder.encode([]).shape == (0, embedder.dim)


def test_cached_per_process() -> None:
    assert load_embedder() is load_embedder()


def test_padding_and_batching_do_not_change_vectors(embedder: Embedder) -> None:
    texts = ["Short.", "A much longer sentence about the European Central Bank raising rates "
             "again to curb inflation across the euro area.", "Médecins Sans Frontières 😀"]
    together = embedder.encode(texts, batch_size=3)
    alone = np.vstack([embedder.encode([t]) for t in texts])
    assert np.abs(together - alone).max() < 1e-5


def test_long_text_is_truncated_not_rejected(embedder: Embedder) -> None:
    vector = embedder.encode(["word " * 5000])
    assert vector.shape == (1, 384) and np.isfinite(vector).all()


def test_meaning_is_captured(embedder: Embedder) -> None:
    q, near, far = embedder.encode([
        "Unemployment fell sharply last month", "The jobless rate dropped in March",
        "The striker scored twice in the cup final"])
    assert float(q @ near) > float(q @ far) + 0.2


def test_graph_equals_a_plain_numpy_bert(embedder: Embedder) -> None:
    """An independent numpy forward pass (same weights) gives the same vectors."""
    from newsdesk.eval.embeddings import NumpyMiniLM

    texts = ["North Korea and Russia deepen cultural ties.", "Oil climbs as peace talks stall."]
    reference = NumpyMiniLM().encode(texts)
    assert np.abs(embedder.encode(texts) - reference).max() < 1e-5


def test_article_text_is_title_then_lead() -> None:
    body = " ".join(f"w{i}" for i in range(500))
    out = article_text("  Big   news ", body, max_words=10)
    assert out == "Big news. " + " ".join(f"w{i}" for i in range(10))
    assert article_text("Title only", "") == "Title only"
    assert article_text("", "just body") == "just body"
