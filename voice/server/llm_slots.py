"""One LLM context per concurrent call, so one caller's turn never evicts another's warm prefix.

llama.cpp keeps one KV cache per context: a single context shared by every call would hold the
prompt of whichever call spoke last, and each other call would re-evaluate its whole dialogue.
The server therefore loads one `LlamaLLM` per call slot. The GGUF is memory-mapped, so the
weights are shared by every context; each slot costs its KV cache (a few MiB at 2048 tokens for
Gemma 3 270M). The slots share the one LLM worker thread, so calls still take turns on the CPU.
"""

from __future__ import annotations

import dataclasses

from voice.config import Config
from voice.errors import VoiceError
from voice.providers.registry import Models, load_llm


class NoFreeSlot(VoiceError):
    """Every call slot is taken."""


class LLMSlots:
    def __init__(self, config: Config, models: Models, slots: int) -> None:
        self._free: list[Models] = [models]  # slot 0 is the process's own LLM
        for _ in range(slots - 1):
            self._free.append(dataclasses.replace(models, llm=load_llm(config)))
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
