"""Do our torch-free vectors equal sentence-transformers' ones, and how fast is each?

Two halves, because torch must stay out of the default install:

* ``python -m newsdesk.eval.embeddings reference CORPUS.jsonl OUT.npy`` runs in a
  throwaway venv that has ``torch`` and ``sentence-transformers``: it embeds the
  same texts with the packaged model the official way and writes the vectors
  (plus ``OUT.npy.json`` with its throughput).
* ``python -m newsdesk.eval.embeddings compare CORPUS.jsonl [OUT.npy]`` (or
  :func:`evaluate`) embeds them with :func:`newsdesk.enrich.embed.load_embedder`
  and with a plain numpy forward pass, and reports agreement and throughput.

The texts are read from the corpus at run time (nothing of it is copied here):
``n`` articles spread evenly over the file, as :func:`article_text` builds them.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.enrich.embed import MAX_SEQ_LENGTH, article_text, model_dir


def load_texts(corpus: Path, n: int = 200) -> list[str]:
    """``n`` article texts spread evenly over a JSONL corpus (``title``, ``text``)."""
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    step = max(len(lines) // n, 1)
    picked = [json.loads(line) for line in lines[::step][:n]]
    return [article_text(r.get("title", ""), r.get("text", "")) for r in picked]


def _timed(fn: Any, texts: Sequence[str]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    vectors = np.asarray(fn(texts), dtype=np.float32)
    return vectors, len(texts) / (time.perf_counter() - start)


def write_reference(corpus: Path, out: Path, n: int = 200) -> dict[str, Any]:
    """Embed with sentence-transformers + torch (run only in a venv that has them)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir()), device="cpu")
    texts = load_texts(corpus, n)
    model.encode(texts[:8])  # warm-up
    vectors, rate = _timed(lambda t: model.encode(list(t), batch_size=32,
                                                  normalize_embeddings=True), texts)
    np.save(out, vectors)
    import torch

    info = {"texts": len(texts), "texts_per_s": round(rate, 1), "torch": torch.__version__,
            "threads": torch.get_num_threads()}
    Path(f"{out}.json").write_text(json.dumps(info))
    return info


class NumpyMiniLM:
    """The same encoder as a plain numpy forward pass: a second, independent check.

    Kept for the comparison only; onnxruntime is faster for identical vectors.
    """

    def __init__(self) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        directory = model_dir()
        self.w = load_file(str(directory / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self.tokenizer.enable_padding()

    def _ln(self, x: np.ndarray, prefix: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * self.w[f"{prefix}.weight"] \
            + self.w[f"{prefix}.bias"]

    def _lin(self, x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ self.w[f"{prefix}.weight"].T + self.w[f"{prefix}.bias"]

    def _layer(self, x: np.ndarray, bias: np.ndarray, p: str) -> np.ndarray:
        from scipy.special import erf

        b, s, _ = x.shape

        def heads(kind: str) -> np.ndarray:
            return self._lin(x, f"{p}.attention.self.{kind}").reshape(b, s, 12, 32) \
                .transpose(0, 2, 1, 3)

        scores = heads("query") @ heads("key").transpose(0, 1, 3, 2) / np.sqrt(32) + bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ heads("value")).transpose(0, 2, 1, 3).reshape(b, s, 384)
        x = self._ln(self._lin(ctx, f"{p}.attention.output.dense") + x,
                     f"{p}.attention.output.LayerNorm")
        h = self._lin(x, f"{p}.intermediate.dense")
        h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
        return self._ln(self._lin(h, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            enc = self.tokenizer.encode_batch(list(texts[start:start + batch_size]))
            ids = np.array([e.ids for e in enc])
            mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
            w = self.w
            x = w["embeddings.word_embeddings.weight"][ids] \
                + w["embeddings.position_embeddings.weight"][: ids.shape[1]] \
                + w["embeddings.token_type_embeddings.weight"][0]
            x = self._ln(x, "embeddings.LayerNorm")
            bias = ((1.0 - mask) * -1e9)[:, None, None, :]
            for i in range(6):
                x = self._layer(x, bias, f"encoder.layer.{i}")
            mean = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            out.append(mean / np.linalg.norm(mean, axis=1, keepdims=True))
        return np.concatenate(out).astype(np.float32)


def _agreement(ours: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    cos = (ours * ref).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    return {"max_abs_diff": float(np.abs(ours - ref).max()), "min_cosine": float(cos.min()),
            "mean_cosine": float(cos.mean())}


def evaluate(corpus: Path, reference: Path | None = None, n: int = 200,
             with_numpy: bool = True) -> dict[str, Any]:
    """Throughput of our backend(s) and, given reference vectors, agreement with them."""
    from newsdesk.enrich.embed import load_embedder

    texts = load_texts(corpus, n)
    embedder = load_embedder()
    embedder.encode(texts[:8])  # warm-up
    ours, rate = _timed(embedder.encode, texts)
    result: dict[str, Any] = {"texts": len(texts), "onnxruntime": {"texts_per_s": round(rate, 1)}}
    if with_numpy:
        numpy_vectors, numpy_rate = _timed(NumpyMiniLM().encode, texts)
        result["numpy"] = {"texts_per_s": round(numpy_rate, 1),
                           **_agreement(numpy_vectors, ours)}
    if reference is not None and reference.exists():
        ref = np.load(reference)
        result["torch_reference"] = {**_agreement(ours, ref), **_reference_info(reference)}
    return result


def _reference_info(reference: Path) -> dict[str, Any]:
    info = Path(f"{reference}.json")
    return json.loads(info.read_text()) if info.exists() else {}


def main(argv: list[str]) -> None:
    if len(argv) >= 3 and argv[0] == "reference":
        print(json.dumps(write_reference(Path(argv[1]), Path(argv[2]))))
    elif len(argv) >= 2 and argv[0] == "compare":
        ref = Path(argv[2]) if len(argv) > 2 else None
        print(json.dumps(evaluate(Path(argv[1]), ref)))
    else:
        print(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
