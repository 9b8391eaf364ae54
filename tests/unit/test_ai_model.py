"""Tests for reference_services.ai_model: determinism, batch invariance, int8 accuracy, checks."""

from __future__ import annotations

import random
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_services.ai_model import (
    MAX_PROMPT_CHARS,
    TOPICS,
    FloatWeights,
    Generation,
    QuantizedModel,
    reference_scores,
    tokenize,
)

WORDS = (
    "python", "numpy", "learn", "beginner", "advanced", "course", "lesson", "data",
    "science", "web", "async", "testing", "sql", "database", "statistics", "machine",
    "learning", "neural", "network", "deploy", "docker", "cloud", "quick", "intro",
)  # fmt: skip


def course_prompts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(1, 12))) for _ in range(count)]


@pytest.fixture(scope="module")
def model() -> QuantizedModel:
    return QuantizedModel.create()


def test_a_prompt_gives_the_same_generation_alone_and_anywhere_inside_a_batch(
    model: QuantizedModel,
) -> None:
    prompts = course_prompts(40, seed=1)
    alone = [model.generate([prompt])[0] for prompt in prompts]
    assert model.generate(prompts) == alone
    assert model.generate(prompts[::-1]) == alone[::-1]
    assert model.generate(prompts[:7]) == alone[:7]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=6))
def test_any_text_batch_equals_its_prompts_generated_one_by_one(
    model: QuantizedModel, prompts: list[str]
) -> None:
    assert model.generate(prompts) == [model.generate([p])[0] for p in prompts]


def test_models_created_with_the_same_seed_agree_and_a_different_seed_does_not() -> None:
    prompts = course_prompts(20, seed=2)
    small = {"vocab_size": 512, "dim": 32, "hidden": 64, "lessons": 300}
    first = QuantizedModel.create(seed=11, **small).generate(prompts)
    assert QuantizedModel.create(seed=11, **small).generate(prompts) == first
    assert QuantizedModel.create(seed=12, **small).generate(prompts) != first


def test_generation_lists_the_top_k_lessons_best_first_with_their_scores(
    model: QuantizedModel,
) -> None:
    prompts = course_prompts(30, seed=3)
    all_scores = model.scores(prompts)
    for generation, row in zip(model.generate(prompts), all_scores, strict=True):
        assert len(generation.lessons) == model.top_k == 5
        expected = np.argsort(-row, kind="stable")[: model.top_k] + 1
        assert list(generation.lessons) == expected.tolist()
        assert generation.scores == tuple(float(row[i - 1]) for i in generation.lessons)
        assert list(generation.scores) == sorted(generation.scores, reverse=True)


def test_the_snippet_names_the_first_lesson_and_topics_from_the_fixed_list(
    model: QuantizedModel,
) -> None:
    for generation in model.generate(course_prompts(20, seed=4)):
        head, _, rest = generation.snippet.partition(": ")
        assert head == f"Start with lesson {generation.lessons[0]}"
        first_topic, _, later = rest.removesuffix(".").partition(" basics, then ")
        topics = [first_topic, *later.split(" and ")]
        assert len(set(topics)) == 3
        assert set(topics) <= set(TOPICS)


def test_int8_scores_track_the_float32_reference_closely() -> None:
    weights = FloatWeights.random(seed=3)
    prompts = course_prompts(200, seed=5)
    exact = reference_scores(weights, prompts)
    quantized = QuantizedModel(weights).scores(prompts)
    top1_agreement = np.mean(exact.argmax(axis=1) == quantized.argmax(axis=1))
    correlations = [np.corrcoef(e, q)[0, 1] for e, q in zip(exact, quantized, strict=True)]
    assert top1_agreement >= 0.9
    assert min(correlations) >= 0.999
    assert np.abs(exact - quantized).max() <= 0.05 * np.abs(exact).max()


def test_the_model_keeps_its_weight_matrices_only_as_int8(model: QuantizedModel) -> None:
    arrays = [value for value in vars(model).values() if isinstance(value, np.ndarray)]
    matrices = [array for array in arrays if array.ndim == 2]
    assert {array.dtype for array in matrices} == {np.dtype(np.int8)}
    assert sum(array.size for array in matrices) == 4096 * 256 + 256 * 512 + 512 * 2000
    assert all(array.ndim <= 2 for array in arrays)


def test_tokens_are_crc32_hashes_of_lower_cased_words_and_wordless_text_is_token_zero() -> None:
    hello = 1 + zlib.crc32(b"hello") % 4095
    world = 1 + zlib.crc32(b"world") % 4095
    assert tokenize("Hello, hello WORLD!", 4096) == [hello, hello, world]
    assert tokenize("?!  ...", 4096) == [0]


def test_prompts_without_words_all_get_the_generation_of_token_zero(
    model: QuantizedModel,
) -> None:
    punctuation, dots, blank = model.generate(["?!", "...", "  \n"])
    assert len(punctuation.lessons) == 5
    assert blank.lessons == punctuation.lessons
    assert dots == Generation(
        prompt="...",
        lessons=punctuation.lessons,
        scores=punctuation.scores,
        snippet=punctuation.snippet,
    )


@pytest.mark.parametrize(
    ("prompts", "message"),
    [
        ([], r"prompts: expected at least one prompt"),
        ("a single string", r"prompts: expected a sequence of strings"),
        (["ok", 7], r"prompts\[1\]: expected str, got int"),
        (["ok", "fine", ""], r"prompts\[2\]: expected a non-empty prompt"),
        (["ok", "x" * (MAX_PROMPT_CHARS + 1)], r"prompts\[1\]: expected at most 2000 characters"),
    ],
)
def test_invalid_prompts_are_rejected_with_the_index_of_the_culprit(
    model: QuantizedModel, prompts: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        model.generate(prompts)  # type: ignore[arg-type]


def test_a_prompt_of_exactly_the_maximum_length_is_accepted(model: QuantizedModel) -> None:
    assert len(model.generate(["word " * (MAX_PROMPT_CHARS // 5)])) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"vocab_size": 1}, r"vocab_size: expected vocab_size >= 2, got 1"),
        ({"dim": 1025}, r"dim: expected 1 <= dim <= 1024, got 1025"),
        ({"hidden": 0}, r"hidden: expected 1 <= hidden <= 1024, got 0"),
        ({"lessons": 0}, r"lessons: expected lessons >= 1, got 0"),
        ({"lessons": 4, "top_k": 5}, r"top_k: expected 1 <= top_k <= 4, got 5"),
        ({"top_k": 0}, r"top_k: expected 1 <= top_k <= 2000, got 0"),
    ],
)
def test_out_of_range_model_sizes_are_rejected_by_name(
    arguments: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        QuantizedModel.create(**arguments)


def test_float_weights_with_shapes_that_do_not_fit_are_rejected_by_name() -> None:
    weights = FloatWeights.random(vocab_size=16, dim=8, hidden=4, lessons=10)
    with pytest.raises(ValueError, match=r"hidden_bias: expected shape \(4,\), got \(5,\)"):
        FloatWeights(
            weights.embeddings,
            weights.hidden_weights,
            np.zeros(5, dtype=np.float32),
            weights.lesson_embeddings,
        )
    with pytest.raises(
        ValueError, match=r"embeddings: expected a 2-D float32 array, got 2-D float64"
    ):
        FloatWeights(
            weights.embeddings.astype(np.float64),
            weights.hidden_weights,
            weights.hidden_bias,
            weights.lesson_embeddings,
        )
