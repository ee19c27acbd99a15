"""How the dialogue becomes the LLM's prompt: a plain transcript, or the model's chat template.

Both formats answer the two questions the LLM provider asks: the prompt of the next reply, and
the same prompt cut just after the user's words with the text that would close their line
(the end-of-turn score is the probability of that text). Because the cut prompt is a prefix of
the reply's prompt, the tokens evaluated to score a pause are the ones the reply reuses.

- `TranscriptFormat`: "User: ... / Assistant: ..." lines; for base models (Gemma 3 270M),
  whose chat template produces nonsense. A line ends with a newline.
- `ChatTemplateFormat`: the model's own Jinja template from its GGUF metadata; for
  instruction-tuned models (SmolLM2-Instruct: ChatML). A line ends with the template's
  end-of-message marker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from voice.providers.base import DialogueTurn

_ROLE_PREFIX = {"user": "User", "assistant": "Assistant"}


def _spoken(turn: DialogueTurn) -> str:
    text = " ".join(turn.text.split())
    if turn.interrupted:  # "Sure, the weather in Paris is—": the model sees the cut
        text = text.rstrip(",;:.-") + "—"
    return text


def render_transcript(
    system_prompt: str,
    history: Sequence[DialogueTurn],
    open_reply: bool = True,
    few_shot: Sequence[DialogueTurn] = (),
) -> str:
    """The dialogue as text, ending with an open assistant line when the user spoke last
    (unless `open_reply` is false: then it ends inside the user's line)."""
    lines = [system_prompt, ""]
    for turn in (*few_shot, *history):
        lines.append(f"{_ROLE_PREFIX[turn.role]}: {_spoken(turn)}")
    prompt = "\n".join(lines)
    if open_reply and history and history[-1].role == "user":
        prompt += "\nAssistant:"
    return prompt


class DialogueFormat(Protocol):
    stop: list[str]

    def reply_prompt(
        self, system: str, few_shot: Sequence[DialogueTurn], history: Sequence[DialogueTurn]
    ) -> str: ...

    def line_end_prompt(
        self, system: str, few_shot: Sequence[DialogueTurn], history: Sequence[DialogueTurn]
    ) -> tuple[str, str]:
        """The prompt cut after the last (user) turn's words, and the text that ends it."""
        ...


class TranscriptFormat:
    def __init__(self) -> None:
        self.stop = ["\nUser", "\n", "User:"]

    def reply_prompt(
        self, system: str, few_shot: Sequence[DialogueTurn], history: Sequence[DialogueTurn]
    ) -> str:
        return render_transcript(system, history, True, few_shot)

    def line_end_prompt(
        self, system: str, few_shot: Sequence[DialogueTurn], history: Sequence[DialogueTurn]
    ) -> tuple[str, str]:
        return render_transcript(system, history, False, few_shot), "\n"


class ChatTemplateFormat:
    """The GGUF's own chat template, rendered with llama-cpp-python's Jinja2 formatter."""

    def __init__(self, template: str, bos_token: str, eos_token: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._reply = Jinja2ChatFormatter(template, eos_token, bos_token)
        self._closed = Jinja2ChatFormatter(
            template, eos_token, bos_token, add_generation_prompt=False
        )
        probe = self._render(self._closed, "", (), [DialogueTurn("user", "PROBE")])
        self.end_marker = probe[probe.rindex("PROBE") + len("PROBE") :].strip("\n ")[:20]
        self.stop = list(dict.fromkeys(m for m in (self.end_marker, eos_token, "\n") if m))

    @classmethod
    def of(cls, llm: Any) -> ChatTemplateFormat:
        """The format of a loaded `llama_cpp.Llama` (ValueError if its GGUF has no template)."""
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError("the model has no chat template in its GGUF metadata")
        vocab = llm._model

        def piece(token: int) -> str:
            return bytes(vocab.token_get_text(token), "utf-8").decode(errors="ignore")

        return cls(template, piece(llm.token_bos()), piece(llm.token_eos()))

    @staticmethod
    def _render(
        formatter: Any, system: str, few_shot: Sequence[DialogueTurn], history: Sequence[Any]
    ) -> str:
        messages = [{"role": "system", "content": system}] if system else []
        messages += [{"role": t.role, "content": _spoken(t)} for t in (*few_shot, *history)]
        prompt: str = formatter(messages=messages).prompt
        return prompt

    def reply_prompt(
        self, system: str, few_shot: Sequence[DialogueTurn], history: Sequence[DialogueTurn]
    ) -> str:
        return self._render(self._reply, system, few_shot, history)

    def line_end_prompt(
        self, system: str, few_shot: Sequence[DialogueTurn], history: Sequence[DialogueTurn]
    ) -> tuple[str, str]:
        full = self._render(self._closed, system, few_shot, history)
        words = _spoken(history[-1])
        cut = full.rindex(words) + len(words)
        return full[:cut], self.end_marker
