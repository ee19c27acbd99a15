"""A copy of a GGUF model whose vocabulary holds only the tokens that ASCII text can produce.

Why: on 2 CPU cores a small model's decoding is bound by memory reads, and for Gemma 3 270M
most of what each token reads is the output layer: its 262,144-token vocabulary (Q8_0, tied to
the input embeddings) is 178 MB of the file's 253 MB. 111,591 of those tokens contain a
non-ASCII character (other scripts, accented words), which an English voice agent never needs.
Dropping their rows leaves 150,553 tokens (102 MB), and every token decoded is ~1.5x cheaper
(docs/latency.md, "The LLM's vocabulary").

Nothing else changes for ASCII text. The SentencePiece tokenizer (llama.cpp's "llama" vocab)
merges adjacent pieces whenever their concatenation is a token, best score first; every piece
of an ASCII string is ASCII, so for ASCII input the merges available, their scores and hence
the tokens are exactly those of the full vocabulary. The kept rows' logits are the full
model's, so the reply's distribution is the full one renormalized over the kept tokens (the
dropped ones carry next to no mass after English text). Control, byte-fallback and
user-defined tokens are always kept: other characters still encode, as UTF-8 bytes.

Written by hand with ggml's own `gguf` package for reading and writing the file: no kept tool
prunes a GGUF vocabulary (llama.cpp's quantize keeps it whole).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from voice.errors import ModelLoadError

# Bump when the selection or the file layout changes, so cached copies are rebuilt.
FORMAT = 1
_NORMAL = 1  # llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte
_EMBEDDINGS = "token_embd.weight"
_PER_TOKEN = (_EMBEDDINGS, "output.weight")  # the output layer, where not tied to the input
_TOKEN_FIELDS = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type")


def is_ascii_token(piece: bytes) -> bool:
    """Whether ASCII text can produce this token ("▁", SentencePiece's space, counts as ASCII)."""
    try:
        text = piece.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.replace("\u2581", " ").isascii()


def kept_tokens(pieces: list[bytes], types: list[int]) -> list[int]:
    """The token ids to keep, in their original order."""
    return [
        index
        for index, (piece, kind) in enumerate(zip(pieces, types, strict=True))
        if kind != _NORMAL or is_ascii_token(piece)
    ]


def prune_to_ascii(source: Path, target: Path) -> int:
    """Write `source` to `target` with an ASCII-only vocabulary; returns the tokens kept."""
    try:
        from gguf import GGUFReader, GGUFValueType, GGUFWriter
    except ImportError as exc:  # a core dependency; say which one is missing
        raise ModelLoadError(
            "the Python package 'gguf' is not installed: pip install gguf"
        ) from exc
    reader = GGUFReader(source)
    fields = reader.fields
    if (
        any(name not in fields for name in _TOKEN_FIELDS)
        or str(fields["tokenizer.ggml.model"].contents()) != "llama"
    ):
        raise ModelLoadError(f"{source}: not a SentencePiece (llama) vocabulary; cannot prune it")
    if _EMBEDDINGS not in {tensor.name for tensor in reader.tensors}:
        raise ModelLoadError(f"{source}: no {_EMBEDDINGS}")
    tokens = fields["tokenizer.ggml.tokens"]
    pieces = [bytes(tokens.parts[index]) for index in tokens.data]
    types = [int(value) for value in fields["tokenizer.ggml.token_type"].contents()]
    scores = [float(value) for value in fields["tokenizer.ggml.scores"].contents()]
    keep = kept_tokens(pieces, types)
    new_id = {old: new for new, old in enumerate(keep)}
    writer = GGUFWriter(target, str(fields["general.architecture"].contents()))
    for name, field in fields.items():
        if name.startswith("GGUF.") or name == "general.architecture" or name in _TOKEN_FIELDS:
            continue
        kind = field.types[0]
        value: Any = field.contents()
        if name.startswith("tokenizer.ggml.") and name.endswith("_token_id"):
            if value not in new_id:
                raise ModelLoadError(f"{source}: {name} = {value} is not a kept token")
            value = new_id[value]
        sub_kind = field.types[-1] if kind == GGUFValueType.ARRAY else None
        writer.add_key_value(name, value, kind, sub_kind)
    writer.add_token_list([pieces[index] for index in keep])
    writer.add_token_scores([scores[index] for index in keep])
    writer.add_token_types([types[index] for index in keep])
    for tensor in reader.tensors:
        data = tensor.data
        if tensor.name in _PER_TOKEN:  # one row of quantized blocks per token
            if data.shape[0] != len(pieces):
                raise ModelLoadError(f"{source}: {tensor.name} has {data.shape[0]} rows")
            data = np.ascontiguousarray(data[keep])
        writer.add_tensor(tensor.name, data, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return len(keep)


def ascii_vocab_gguf(source: Path, cache_dir: Path | None = None) -> Path:
    """The ASCII-vocabulary copy of `source`, built once (~25 s for Gemma 3 270M) and cached.

    A marker beside the copy names the source (path, size, modification time) and `FORMAT`;
    a copy whose marker does not match is rebuilt. Built under a temporary name and renamed,
    so a process that dies mid-build or two that build at once never leave a broken file.
    """
    cache = cache_dir or Path.home() / ".cache" / "voice"
    target = cache / f"{source.stem}.ascii-vocab.gguf"
    marker = target.with_suffix(".source")
    stat = source.stat()
    expected = f"{FORMAT} {source.resolve()} {stat.st_size} {stat.st_mtime_ns}\n"
    if target.is_file() and marker.is_file() and marker.read_text() == expected:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        prune_to_ascii(source, partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    marker.write_text(expected)
    return target


# Typographic marks Whisper and people write, as the ASCII the pruned vocabulary spells.
_ASCII_MARKS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)


def to_ascii(text: str) -> str:
    """`text` with accents and typographic marks folded to ASCII, so that it reaches an
    ASCII-vocabulary model as the words it knows rather than as UTF-8 byte tokens ("café" ->
    "cafe"). Characters with no ASCII form (other scripts) are kept: they still encode."""
    if text.isascii():
        return text
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_MARKS))
    return "".join(char for char in folded if not unicodedata.combining(char))
