"""The offline MiniLM encoder reproduces all-MiniLM-L6-v2's published similarities."""

from __future__ import annotations

import numpy as np
import pytest

from datasetgen_resources.embeddings import default_encoder


def test_similarities_match_the_sentence_transformers_reference():
    # cosine similarities published for this model in the sentence-transformers docs
    pairs = [("A man is eating food.", "A man is eating a piece of bread.", 0.7553),
             ("A man is riding a horse.", "A man is riding a white horse on an enclosed ground.",
              0.7369),
             ("A monkey is playing drums.",
              "Someone in a gorilla costume is playing a set of drums.", 0.6433)]
    enc = default_encoder()
    for a, b, ref in pairs:
        va, vb = enc.encode([a, b])
        assert float(va @ vb) == pytest.approx(ref, abs=2e-3)
    unrelated = enc.encode(["A man is eating food.", "The girl is carrying a baby."])
    assert float(unrelated[0] @ unrelated[1]) < 0.1


def test_batches_padding_and_empty_input():
    enc = default_encoder()
    texts = ["short", "a much longer sentence " * 20, "mid length text here"]
    together = enc.encode(texts)
    alone = np.stack([enc.encode([t])[0] for t in texts])
    assert together.shape == (3, 384)
    np.testing.assert_allclose(together, alone, atol=1e-5)  # padding does not leak in
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert enc.encode([]).shape == (0, 384)
