"""The ASCII-vocabulary copy of a GGUF: the right rows and ids on a small synthetic file, the
cache rebuilt only when its source changes, and on the real default model the same tokens for
ASCII text, the same greedy replies and the same end-of-turn scores as the full vocabulary."""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from voice.errors import ModelLoadError
from voice.providers.base import DialogueTurn
from voice.providers.vocab_prune import (
    ascii_vocab_gguf,
    is_ascii_token,
    kept_tokens,
    prune_to_ascii,
    to_ascii,
)

gguf = pytest.importorskip("gguf")

# id: piece, type (1 normal, 3 control, 6 byte)
PIECES = [
    ("<pad>", 3),
    ("<eos>", 3),
    ("<bos>", 3),
    ("\u2581the", 1),
    ("\u2581caf\u00e9", 1),
    ("<0x41>", 6),
    ("\u2581\u4e16\u754c", 1),
    ("ing", 1),
]


def write_small_gguf(path: Path, model: str = "llama", rows_scale: float = 1.0) -> None:
    writer = gguf.GGUFWriter(path, "gemma3")
    writer.add_string("tokenizer.ggml.model", model)
    writer.add_token_list([piece for piece, _ in PIECES])
    writer.add_token_scores([-float(index) for index in range(len(PIECES))])
    writer.add_token_types([kind for _, kind in PIECES])
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(1)
    rows = np.arange(len(PIECES) * 4, dtype=np.float32).reshape(len(PIECES), 4) * rows_scale
    writer.add_tensor("token_embd.weight", rows)
    writer.add_tensor("blk.0.ffn_up.weight", np.ones((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_ascii_pieces_are_kept_and_special_tokens_always() -> None:
    assert is_ascii_token("\u2581the".encode())  # SentencePiece's space counts as ASCII
    assert not is_ascii_token("\u2581caf\u00e9".encode())
    assert not is_ascii_token(b"\xff")  # not UTF-8
    pieces = [piece.encode() for piece, _ in PIECES]
    assert kept_tokens(pieces, [kind for _, kind in PIECES]) == [0, 1, 2, 3, 5, 7]


def test_the_copy_keeps_the_rows_and_remaps_the_ids(tmp_path: Path) -> None:
    source = tmp_path / "small.gguf"
    write_small_gguf(source)
    target = tmp_path / "small.ascii.gguf"
    assert prune_to_ascii(source, target) == 6
    reader = gguf.GGUFReader(target)
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    assert tokens == ["<pad>", "<eos>", "<bos>", "\u2581the", "<0x41>", "ing"]
    assert reader.fields["tokenizer.ggml.scores"].contents() == [-0.0, -1.0, -2.0, -3.0, -5.0, -7.0]
    assert reader.fields["tokenizer.ggml.bos_token_id"].contents() == 2
    embeddings = {tensor.name: tensor for tensor in reader.tensors}["token_embd.weight"]
    kept_rows = np.arange(len(PIECES) * 4, dtype=np.float32).reshape(-1, 4)[[0, 1, 2, 3, 5, 7]]
    np.testing.assert_array_equal(np.asarray(embeddings.data), kept_rows)
    untouched = {tensor.name: tensor for tensor in reader.tensors}["blk.0.ffn_up.weight"]
    np.testing.assert_array_equal(np.asarray(untouched.data), np.ones((4, 4), dtype=np.float32))


def test_a_vocabulary_that_is_not_sentencepiece_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "bpe.gguf"
    write_small_gguf(source, model="gpt2")  # BPE merges would break: not pruned
    with pytest.raises(ModelLoadError, match="not a SentencePiece"):
        prune_to_ascii(source, tmp_path / "out.gguf")


def test_the_copy_is_built_once_and_again_when_the_source_changes(tmp_path: Path) -> None:
    source = tmp_path / "small.gguf"
    write_small_gguf(source)
    cache = tmp_path / "cache"
    copy = ascii_vocab_gguf(source, cache)
    stamp = copy.stat().st_mtime_ns
    assert ascii_vocab_gguf(source, cache) == copy and copy.stat().st_mtime_ns == stamp
    write_small_gguf(source, rows_scale=2.0)
    os.utime(source, ns=(stamp + 10**9, stamp + 10**9))
    ascii_vocab_gguf(source, cache)
    rows = {t.name: t for t in gguf.GGUFReader(copy).tensors}["token_embd.weight"].data
    assert float(np.asarray(rows)[1, 0]) == 8.0  # the new source's rows (id 1 * 4 * 2.0)
    assert [path.name for path in cache.iterdir() if "partial" in path.name] == []


def test_accents_and_typographic_marks_fold_to_ascii() -> None:
    assert (
        to_ascii("I\u2019d like a caf\u00e9 \u2014 na\u00efve\u2026")
        == "I'd like a cafe - naive..."
    )
    assert to_ascii("plain text") == "plain text"
    assert to_ascii("\u4e16\u754c") == "\u4e16\u754c"  # no ASCII form: kept, encodes as bytes


@pytest.mark.slow
def test_the_default_model_says_the_same_with_the_ascii_vocabulary() -> None:
    """Same tokens for ASCII text, same greedy replies, same end-of-turn scores (to 1 %)."""
    from voice.providers.llama_llm import LlamaLLM
    from voice.providers.model_files import gemma_gguf_path

    full = LlamaLLM(gemma_gguf_path(), temperature=0.0)
    ascii_only = LlamaLLM(ascii_vocab_gguf(gemma_gguf_path()), temperature=0.0, ascii_text=True)
    assert ascii_only._llm.n_vocab() < 0.6 * full._llm.n_vocab()
    lines = [
        "What's the capital of France?",
        "And the answer that comes back is well, I wouldn't start from here, Sonny.",
        "Tell me about Hamlet and Pluto, then say goodbye!",
        "I want to book a table for two at 7:30 pm, and",
    ]
    for line in lines:
        pieces = [
            [llm._llm.detokenize([token]) for token in llm._llm.tokenize(line.encode())]
            for llm in (full, ascii_only)
        ]
        assert pieces[0] == pieces[1]
        history = [DialogueTurn("user", line)]
        replies = [
            "".join(llm.stream_reply(history, threading.Event())) for llm in (full, ascii_only)
        ]
        assert replies[0] == replies[1] and replies[0].strip()
        scores = [llm.end_of_turn_probability([], line) for llm in (full, ascii_only)]
        assert scores[1] == pytest.approx(scores[0], rel=0.01, abs=1e-4)
    # the whole prompt is folded, with what the format adds (an interrupted turn's dash)
    cut_off = [DialogueTurn("assistant", "Sure, it is", interrupted=True)]
    assert ascii_only._render([*cut_off, DialogueTurn("user", "Caf\u00e9?")]).isascii()
    # a line the copy cannot spell in its own tokens still reaches the model (folded, bytes)
    assert "".join(
        ascii_only.stream_reply(
            [DialogueTurn("user", "Caf\u00e9 \u4e16\u754c?")], threading.Event()
        )
    )


def test_a_copy_that_cannot_be_built_leaves_the_full_model_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice.config import Config
    from voice.providers import llm_profiles, vocab_prune

    source = tmp_path / "small.gguf"
    write_small_gguf(source)
    profile = llm_profiles.PROFILES["fast"]
    monkeypatch.setitem(
        llm_profiles.PROFILES, "fast", dataclasses.replace(profile, model=lambda: source)
    )

    def no_room(*_: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vocab_prune, "prune_to_ascii", no_room)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert llm_profiles.model_path(Config().llm) == source
