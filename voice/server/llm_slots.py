"""One LLM context per concurrent call, so one caller's turn never evicts another's warm prefix.

llama.cpp keeps one KV cache per context: a single context shared by every call would hold the
prompt of whichever call spoke last, and each other call would re-evaluate its whole dialogue.
The server therefore loads one `LlamaLLM` per call slot. The GGUF is memory-mapped, so the
weights are shared by every context; each slot costs its KV cache (a few MiB at 2048 tokens for
Gemma 3 270M). The slots share the one LLM worker thread, so calls still take turns on the CPU.

Every slot starts warm: the prompt is evaluated once, at start, and its KV cache copied into
each slot. Otherwise calls that start together each evaluate it on their first turn, queued on
the one LLM thread (8 calls at once: 5.7 s of evaluation before the first reply could start).
A slot keeps its cache between calls; the next call evaluates only what differs.
"""

from __future__ import annotations

import dataclasses

from voice.config import Config
from voice.errors import VoiceError
from voice.providers.llama_llm import LlamaLLM
from voice.providers.registry import Models, load_llm


class NoFreeSlot(VoiceError):
    """Every call slot is taken."""


class LLMSlots:
    def __init__(self, config: Config, models: Models, slots: int) -> None:
        self._free: list[Models] = [models]  # slot 0 is the process's own LLM
        warm = models.llm if isinstance(models.llm, LlamaLLM) else None
        if warm is not None:
            warm.warm_up([])
        for _ in range(slots - 1):
            llm = load_llm(config)
            if warm is not None and isinstance(llm, LlamaLLM):
                llm.adopt_prefix(warm)
            self._free.append(dataclasses.replace(models, llm=llm))
        self.size = slots

    @property
    def free(self) -> int:
        return len(self._free)

    def acquire(self) -> Models:
        """The models of a free slot (raises `NoFreeSlot` when every slot is taken)."""
        if not self._free:
            raise NoFreeSlot(f"all {self.size} call slots are in use")
        return self._free.pop()

    def release(self, models: Models) -> None:
        self._free.append(models)
