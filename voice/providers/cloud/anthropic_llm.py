"""Replies from Anthropic's Messages API, streamed (`anthropic` SDK).

The system prompt is the fixed prefix of every request, so it is sent as a text block marked
`cache_control: ephemeral`: once it is long enough for the model's cache minimum, later turns
read it from the prompt cache instead of paying for it again. The dialogue goes as
alternating user/assistant messages; an assistant turn the caller interrupted holds only the
words that were heard, ended with an ellipsis, which the system prompt explains.

With tools (`stream_reply_with_tools`, the agent's delegation: voice/delegate/tools.py) the
tool definitions go before the system prompt in the request, as the prompt cache orders its
prefix (tools, system, messages); they are fixed for a process, so the last one is marked
`cache_control` too and the cached prefix covers both. At most one tool call per reply
(`disable_parallel_tool_use`): one turn, one action. The SDK's `text_stream` only yields text,
so the events are read instead: text deltas as they come, a tool call once its block stops
(the SDK has then joined the `input_json_delta` pieces into the input object). The request
ends there: the tool's result is not sent back to the model for a second answer; the agent
speaks its own reply to the call, and history records only what was spoken (no `tool_use`
block, so no `tool_result` is owed).

The SDK's retries are off (a retry would blow the turn's deadline; the failover wrapper
falls back to the local model instead) and its own OpenTelemetry spans too (the turn's spans
are the project's). Connect and read timeouts are the SDK's own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from voice.config import AnthropicConfig
from voice.providers.base import DialogueTurn, Tool, ToolCall

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful voice assistant on a call. Answer in one or two short spoken "
    "sentences: no lists, no markdown, no emoji. If you cannot do something (live data, "
    "actions in the world), say so plainly."
)
INTERRUPTED_NOTE = (
    " An assistant turn that ends with '…' was cut off by the caller: it holds only the "
    "words they heard."
)
TOOLS_NOTE = (
    " Your tools act for you: when the caller asks for something a tool does, call it rather "
    "than saying you cannot; you need not say anything first."
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

    def system_blocks(self, with_tools: bool = False) -> list[dict[str, Any]]:
        text = self.system_prompt + (TOOLS_NOTE if with_tools else "")
        return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]

    @staticmethod
    def tool_params(tools: Sequence[Tool]) -> list[dict[str, Any]]:
        """The Messages API's `tools`: the last one carries the cache breakpoint."""
        params: list[dict[str, Any]] = [
            {"name": t.name, "description": t.description, "input_schema": dict(t.input_schema)}
            for t in tools
        ]
        if params:
            params[-1]["cache_control"] = {"type": "ephemeral"}
        return params

    def stream_reply(
        self, history: Sequence[DialogueTurn], cancel: threading.Event
    ) -> Iterator[str]:
        for item in self._stream(history, cancel, ()):
            if isinstance(item, str):
                yield item

    def stream_reply_with_tools(
        self, history: Sequence[DialogueTurn], cancel: threading.Event, tools: Sequence[Tool]
    ) -> Iterator[str | ToolCall]:
        return self._stream(history, cancel, tools)

    def _stream(
        self, history: Sequence[DialogueTurn], cancel: threading.Event, tools: Sequence[Tool]
    ) -> Iterator[str | ToolCall]:
        extra: dict[str, Any] = {}
        if tools:
            extra["tools"] = self.tool_params(tools)
            extra["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": True}
        with self._client.messages.stream(
            model=self.settings.model,
            max_tokens=self.settings.max_tokens,
            system=self.system_blocks(with_tools=bool(tools)),  # type: ignore[arg-type]
            messages=to_messages(history),  # type: ignore[arg-type]
            **extra,
        ) as stream:
            for event in stream:
                if cancel.is_set():
                    return
                if event.type == "text" and event.text:
                    yield event.text
                elif event.type == "content_block_stop" and event.content_block.type == "tool_use":
                    block = event.content_block
                    given = block.input if isinstance(block.input, dict) else {}
                    yield ToolCall(block.id, block.name, given)

    def warm_up(self, history: Sequence[DialogueTurn]) -> None:
        """Nothing to evaluate locally; the prompt cache fills on the first real request."""

    def check(self) -> None:
        """An authorized request (doctor): raises on a network error or a refused key."""
        self._client.models.list(limit=1)
