"""Replies from Anthropic's Messages API, streamed (`anthropic` SDK).

The system prompt is the fixed prefix of every request, so it is sent as a text block marked
`cache_control: ephemeral`: once it is long enough for the model's cache minimum, later turns
read it from the prompt cache instead of paying for it again. The dialogue goes as
alternating user/assistant messages; an assistant turn the caller interrupted holds only the
words that were heard, ended with an ellipsis, which the system prompt explains.

The SDK's retries are off (a retry would blow the turn's deadline; the failover wrapper
falls back to the local model instead) and its own OpenTelemetry spans too (the turn's spans
are the project's). Connect and read timeouts are the SDK's own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from voice.config import AnthropicConfig
from voice.providers.base import DialogueTurn

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful voice assistant on a call. Answer in one or two short spoken "
    "sentences: no lists, no markdown, no emoji. If you cannot do something (live data, "
    "actions in the world), say so plainly."
)
INTERRUPTED_NOTE = (
    " An assistant turn that ends with '…' was cut off by the caller: it holds only the "
    "words they heard."
)


def to_messages(history: Sequence[DialogueTurn]) -> list[dict[str, Any]]:
    """The dialogue as Messages API messages: starts with the user, roles alternate."""
    messages: list[dict[str, Any]] = []
    for turn in history:
        text = turn.text.strip()
        if turn.role == "assistant" and turn.interrupted:
            text = f"{text}…" if text else ""
        if not text or (not messages and turn.role != "user"):
            continue
        if messages and messages[-1]["role"] == turn.role:
            messages[-1]["content"] += f"\n{text}"
        else:
            messages.append({"role": turn.role, "content": text})
    return messages


class AnthropicLLM:
    name = "anthropic"

    def __init__(self, api_key: str, settings: AnthropicConfig, system_prompt: str = "") -> None:
        import anthropic

        self.settings = settings
        self.system_prompt = (
            settings.system_prompt or system_prompt or DEFAULT_SYSTEM_PROMPT
        ) + INTERRUPTED_NOTE
        connect_s = settings.connect_timeout_ms / 1000
        read_s = settings.read_timeout_ms / 1000
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=settings.base_url or None,
            max_retries=0,
            timeout=anthropic.Timeout(read_s, connect=connect_s),
            open_telemetry=False,
        )
        self.base_url = str(self._client.base_url)

    def system_blocks(self) -> list[dict[str, Any]]:
        return [
            {"type": "text", "text": self.system_prompt, "cache_control": {"type": "ephemeral"}}
        ]

    def stream_reply(
        self, history: Sequence[DialogueTurn], cancel: threading.Event
    ) -> Iterator[str]:
        with self._client.messages.stream(
            model=self.settings.model,
            max_tokens=self.settings.max_tokens,
            system=self.system_blocks(),  # type: ignore[arg-type]
            messages=to_messages(history),  # type: ignore[arg-type]
        ) as stream:
            for text in stream.text_stream:
                if cancel.is_set():
                    return
                if text:
                    yield text

    def warm_up(self, history: Sequence[DialogueTurn]) -> None:
        """Nothing to evaluate locally; the prompt cache fills on the first real request."""

    def check(self) -> None:
        """An authorized request (doctor): raises on a network error or a refused key."""
        self._client.models.list(limit=1)
