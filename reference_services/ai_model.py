"""A small int8-quantized numpy model that recommends lessons and writes a short snippet.

Pure: no I/O, no clock, no globals that change. Weights are drawn from
``numpy.random.default_rng(seed)`` at construction (no download), quantized to int8 with one
symmetric scale per output channel, and only the int8 weights and float32 scales are kept
(about 1.2 MB with the defaults).

Forward pass for a batch of prompts (one gather or matmul per layer for the whole batch):

1. tokens: lower-cased words, each hashed with CRC-32 (stable across processes, unlike
   ``hash()``) into ids ``1 .. vocab_size - 1``; a prompt without words is token 0;
2. embedding: mean of the int8 embedding rows of its tokens, dequantized (``dim`` floats);
3. hidden layer: activations quantized to int8 per row, int8 x int8 matmul accumulated
   exactly, dequantized, plus bias, ReLU (``hidden`` floats);
4. scores: the same int8 matmul against int8 lesson embeddings (``lessons`` floats); the
   ``top_k`` best lessons via ``argpartition``; the snippet names the topics of the strongest
   hidden units.

Integer accumulation runs on float32 BLAS: operands are in [-127, 127] and the inner
dimension is at most 1,024 (at most 1,000 tokens for the embedding sum), so every partial sum
is an integer below 2**24 and float32 holds it exactly. The result is bit-identical to int32
accumulation, independent of summation order and therefore of batch size, and about 20x
faster than numpy's integer matmul (which has no BLAS). Each call casts the int8 weights to
float32 once (~0.25 ms with the defaults), which a batch amortizes, as reading the weights
is amortized in any batched inference.

Sizes were chosen so that batching pays: the defaults (vocab 4,096, dim 256, hidden 512,
2,000 lessons) cost about 0.6-0.7 ms for one prompt and 2.2-2.9 ms for 32 on a 2-core Xeon
VM with one BLAS thread (``benchmarks.bench_inference``), 8-10x cheaper per prompt in a
batch. Run services with ``OPENBLAS_NUM_THREADS=1``: on a busy 2-core machine, multi-threaded
BLAS made a 32-prompt batch 3-5x slower.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MAX_INNER_DIM",
    "MAX_PROMPT_CHARS",
    "TOPICS",
    "FloatWeights",
    "Generation",
    "QuantizedModel",
    "reference_scores",
    "tokenize",
]

MAX_PROMPT_CHARS = 2000
"""Longest prompt accepted, in characters."""
MAX_INNER_DIM = 1024
"""Largest dim and hidden: int8 dot products are exact in float32 (127**2 * 1040 < 2**24)."""
QMAX = 127
"""Symmetric int8 range [-127, 127]; -128 is never used."""
SNIPPET_TOPICS = 3
"""Most topics named in a snippet."""
SNIPPET_UNITS = 8
"""Strongest hidden units whose topics a snippet may name."""

TOPICS = (
    "gradient descent", "linear regression", "loss functions", "probability", "vectors",
    "matrices", "derivatives", "integrals", "sorting algorithms", "hash tables", "recursion",
    "graph search", "dynamic programming", "big-O notation", "unit testing", "version control",
    "SQL joins", "indexes", "transactions", "caching", "HTTP basics", "REST APIs", "async I/O",
    "threads", "processes", "memory management", "type systems", "functional programming",
    "object-oriented design", "design patterns", "refactoring", "debugging", "profiling",
    "logging", "metrics", "alerting", "load testing", "latency percentiles", "queues",
    "rate limiting", "encryption", "authentication", "networking", "DNS", "containers",
    "orchestration", "cloud storage", "data cleaning", "visualisation", "statistics",
    "hypothesis tests", "decision trees", "neural networks", "embeddings", "attention",
    "tokenisation", "quantization", "regularisation", "overfitting", "cross-validation",
    "feature engineering", "clustering", "dimensionality reduction", "ethics in AI",
)  # fmt: skip
"""Fixed topic list; hidden unit ``i`` stands for ``TOPICS[i % len(TOPICS)]`` in snippets."""

_WORD = re.compile(r"\w+")

Float32Array = NDArray[np.float32]
Int8Array = NDArray[np.int8]


@dataclass(frozen=True)
class Generation:
    """One prompt's output: recommended lesson ids (1-based, best first) and their scores."""

    prompt: str
    lessons: tuple[int, ...]
    scores: tuple[float, ...]
    snippet: str


@dataclass(frozen=True, eq=False)
class FloatWeights:
    """The float32 weights before quantization: the accuracy reference for the int8 model.

    Shapes: ``embeddings`` (vocab_size, dim), ``hidden_weights`` (dim, hidden),
    ``hidden_bias`` (hidden,), ``lesson_embeddings`` (hidden, lessons).
    """

    embeddings: Float32Array
    hidden_weights: Float32Array
    hidden_bias: Float32Array
    lesson_embeddings: Float32Array

    def __post_init__(self) -> None:
        """Raises ValueError unless the arrays are float32 and their shapes fit together."""
        dims = {"embeddings": 2, "hidden_weights": 2, "hidden_bias": 1, "lesson_embeddings": 2}
        for name, ndim in dims.items():
            array = getattr(self, name)
            if array.dtype != np.float32 or array.ndim != ndim:
                raise ValueError(
                    f"{name}: expected a {ndim}-D float32 array, got {array.ndim}-D {array.dtype}"
                )
        dim, hidden = self.hidden_weights.shape
        shapes = {
            "embeddings": (self.embeddings.shape[0], dim),
            "hidden_bias": (hidden,),
            "lesson_embeddings": (hidden, self.lesson_embeddings.shape[1]),
        }
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name}: expected shape {shape}, got {getattr(self, name).shape}")

    @classmethod
    def random(
        cls,
        *,
        seed: int = 0,
        vocab_size: int = 4096,
        dim: int = 256,
        hidden: int = 512,
        lessons: int = 2000,
    ) -> FloatWeights:
        """Deterministic weights from ``default_rng(seed)``; same arguments, same arrays.

        Raises ValueError naming the first size out of range.
        """
        _check_range("vocab_size", vocab_size, 2, None)
        _check_range("dim", dim, 1, MAX_INNER_DIM)
        _check_range("hidden", hidden, 1, MAX_INNER_DIM)
        _check_range("lessons", lessons, 1, None)
        rng = np.random.default_rng(seed)
        return cls(
            embeddings=rng.standard_normal((vocab_size, dim), dtype=np.float32),
            hidden_weights=rng.standard_normal((dim, hidden), dtype=np.float32)
            * np.float32(1.0 / np.sqrt(dim)),
            hidden_bias=rng.standard_normal(hidden, dtype=np.float32) * np.float32(0.05),
            lesson_embeddings=rng.standard_normal((hidden, lessons), dtype=np.float32)
            * np.float32(1.0 / np.sqrt(hidden)),
        )


def tokenize(prompt: str, vocab_size: int) -> list[int]:
    """Vocabulary ids of the lower-cased words of ``prompt``; ``[0]`` when it has none."""
    words = _WORD.findall(prompt.lower())
    return [1 + zlib.crc32(word.encode()) % (vocab_size - 1) for word in words] or [0]


class QuantizedModel:
    """int8 weights plus per-output-channel float32 scales; ``generate`` runs a whole batch.

    Cost with the default sizes: ~0.65 ms for one prompt, ~2.5 ms for 32 (2-core Xeon VM, one
    BLAS thread); memory ~1.2 MB, plus ~5 MB of float32 temporaries per call. Thread-safe:
    ``generate`` only reads the model.
    """

    def __init__(self, weights: FloatWeights, *, top_k: int = 5) -> None:
        """Quantize ``weights`` (not kept). Raises ValueError for a size or top_k out of range."""
        vocab_size, dim = weights.embeddings.shape
        hidden, lessons = weights.lesson_embeddings.shape
        _check_range("vocab_size", vocab_size, 2, None)
        _check_range("dim", dim, 1, MAX_INNER_DIM)
        _check_range("hidden", hidden, 1, MAX_INNER_DIM)
        _check_range("top_k", top_k, 1, lessons)
        self.vocab_size, self.dim, self.hidden, self.lessons = vocab_size, dim, hidden, lessons
        self.top_k = top_k
        # Output channels are columns, also for the embedding (a lookup is a one-hot matmul).
        self._emb_q, self._emb_scale = _quantize_columns(weights.embeddings)
        self._w1_q, self._w1_scale = _quantize_columns(weights.hidden_weights)
        self._b1 = weights.hidden_bias.astype(np.float32, copy=True)
        self._lessons_q, self._lessons_scale = _quantize_columns(weights.lesson_embeddings)

    @classmethod
    def create(
        cls,
        *,
        seed: int = 0,
        vocab_size: int = 4096,
        dim: int = 256,
        hidden: int = 512,
        lessons: int = 2000,
        top_k: int = 5,
    ) -> QuantizedModel:
        """The model quantized from ``FloatWeights.random`` with the same arguments (~0.1 s)."""
        weights = FloatWeights.random(
            seed=seed, vocab_size=vocab_size, dim=dim, hidden=hidden, lessons=lessons
        )
        return cls(weights, top_k=top_k)

    def generate(self, prompts: Sequence[str]) -> list[Generation]:
        """One Generation per prompt, in order; the same prompt gives the same output in any batch.

        Raises ValueError for an empty list or for a prompt that is not a non-empty str of
        at most ``MAX_PROMPT_CHARS`` characters (the message names its index); one bad prompt
        fails the whole call, so validate each prompt before batching it with others'.
        """
        hidden, scores = self._forward(_validated(prompts))
        lessons, lesson_scores = _top_k(scores, self.top_k)
        units, _ = _top_k(hidden, min(SNIPPET_UNITS, self.hidden))
        return [
            Generation(
                prompt=prompt,
                lessons=tuple(ids),
                scores=tuple(values),
                snippet=_snippet(ids[0], strongest),
            )
            for prompt, ids, values, strongest in zip(
                prompts, (lessons + 1).tolist(), lesson_scores.tolist(), units.tolist(), strict=True
            )
        ]

    def scores(self, prompts: Sequence[str]) -> Float32Array:
        """Scores of every lesson for each prompt, shape (len(prompts), lessons); validates."""
        return self._forward(_validated(prompts))[1]

    def _forward(self, prompts: Sequence[str]) -> tuple[Float32Array, Float32Array]:
        x = self._embed(prompts)
        x_q, x_scale = _quantize_rows(x)
        acc = _int8_matmul(x_q, self._w1_q)
        hidden = np.maximum(acc * x_scale[:, None] * self._w1_scale[None, :] + self._b1, 0)
        h_q, h_scale = _quantize_rows(hidden)
        acc = _int8_matmul(h_q, self._lessons_q)
        return hidden, acc * h_scale[:, None] * self._lessons_scale[None, :]

    def _embed(self, prompts: Sequence[str]) -> Float32Array:
        ids = [tokenize(prompt, self.vocab_size) for prompt in prompts]
        counts = np.fromiter((len(i) for i in ids), dtype=np.intp, count=len(ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.intp, count=int(counts.sum()))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        # Sums of int8 rows: exact (< 2**24) whatever the order; one scale per column.
        sums: Float32Array = np.add.reduceat(self._emb_q[flat].astype(np.float32), starts, axis=0)
        means: Float32Array = sums * (self._emb_scale / counts.astype(np.float32)[:, None])
        return means


def reference_scores(weights: FloatWeights, prompts: Sequence[str]) -> Float32Array:
    """The float32 forward pass without quantization, shape (len(prompts), lessons)."""
    vocab_size = weights.embeddings.shape[0]
    x = np.stack(
        [weights.embeddings[tokenize(p, vocab_size)].mean(axis=0) for p in _validated(prompts)]
    )
    hidden = np.maximum(x @ weights.hidden_weights + weights.hidden_bias, 0)
    result: Float32Array = hidden @ weights.lesson_embeddings
    return result


def _validated(prompts: Sequence[str]) -> Sequence[str]:
    if isinstance(prompts, str):
        raise ValueError("prompts: expected a sequence of strings, got a single str")
    if len(prompts) == 0:
        raise ValueError("prompts: expected at least one prompt, got an empty sequence")
    for index, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            raise ValueError(f"prompts[{index}]: expected str, got {type(prompt).__name__}")
        if not prompt:
            raise ValueError(f"prompts[{index}]: expected a non-empty prompt, got ''")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise ValueError(
                f"prompts[{index}]: expected at most {MAX_PROMPT_CHARS} characters, "
                f"got {len(prompt)}"
            )
    return prompts


def _check_range(name: str, value: int, low: int, high: int | None) -> None:
    if value < low or (high is not None and value > high):
        bound = f"{low} <= {name} <= {high}" if high is not None else f"{name} >= {low}"
        raise ValueError(f"{name}: expected {bound}, got {value}")


def _quantize_columns(matrix: Float32Array) -> tuple[Int8Array, Float32Array]:
    """Symmetric int8 quantization with one scale per column: ``matrix ~ q * scale``."""
    amax = np.abs(matrix).max(axis=0)
    scale = np.where(amax > 0, amax / QMAX, 1).astype(np.float32)
    q = np.clip(np.rint(matrix / scale), -QMAX, QMAX).astype(np.int8)
    return q, scale


def _quantize_rows(matrix: Float32Array) -> tuple[Int8Array, Float32Array]:
    """Symmetric int8 quantization with one scale per row (per prompt's activations)."""
    q, scale = _quantize_columns(matrix.T)
    return q.T, scale


def _int8_matmul(a: Int8Array, b: Int8Array) -> Float32Array:
    """``a @ b`` with exact integer accumulation (inner dimension <= MAX_INNER_DIM)."""
    result: Float32Array = a.astype(np.float32) @ b.astype(np.float32)
    return result


def _top_k(matrix: Float32Array, k: int) -> tuple[NDArray[np.intp], Float32Array]:
    """Per row, the column indices of the ``k`` largest values, largest first, and the values.

    Equal values are ordered by column; ties at the k-th place are broken by argpartition,
    which depends only on the row. Costs O(columns) per row plus a sort of k.
    """
    columns = matrix.shape[1]
    part = np.argpartition(matrix, columns - k, axis=1)[:, columns - k :]
    values = np.take_along_axis(matrix, part, axis=1)
    order = np.lexsort((part, -values), axis=1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def _snippet(lesson_id: int, units: list[int]) -> str:
    """ "Start with lesson 12: <topic> basics, then <topic> and <topic>." from the units' topics."""
    topics = list(dict.fromkeys(TOPICS[unit % len(TOPICS)] for unit in units))[:SNIPPET_TOPICS]
    text = f"Start with lesson {lesson_id}: {topics[0]} basics"
    if len(topics) > 1:
        text += f", then {' and '.join(topics[1:])}"
    return text + "."
