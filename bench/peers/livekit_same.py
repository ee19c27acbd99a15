"""Our own STT, LLM and TTS providers as LiveKit plugins, for the same-providers peer.

With LiveKit's VAD and endpointing but our models, on our single-thread model workers, the
difference between this peer and our agent is the framework alone (scheduling, endpointing,
sentence splitting, buffering), not the choice or tuning of providers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from livekit.agents import APIConnectOptions, llm, stt, tts, utils
from livekit.agents.language import LanguageCode
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

from bench.peers.livekit_io import buffer_to_pcm16k
from voice.providers.base import DialogueTurn
from voice.providers.registry import Models


class ModelsSTT(stt.STT):
    """`models.stt.transcribe` on the STT worker, one VAD-delimited utterance per request."""

    def __init__(self, models: Models) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._models = models

    @property
    def model(self) -> str:
        return self._models.stt.name

    @property
    def provider(self) -> str:
        return "voice"

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        text = await self._models.stt_worker.run(
            self._models.stt.transcribe, buffer_to_pcm16k(buffer)
        )
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode("en"), text=text)],
        )


def dialogue(chat_ctx: llm.ChatContext) -> list[DialogueTurn]:
    """The user and assistant messages of LiveKit's chat context as our dialogue turns.

    The system message (the agent's instructions) is left out: our LLM provider adds its own
    system prompt, which is the same text.
    """
    turns: list[DialogueTurn] = []
    for message in chat_ctx.messages():
        if message.role in ("user", "assistant") and (text := message.text_content):
            turns.append(DialogueTurn(message.role, text))
    return turns


class ModelsLLM(llm.LLM):
    """`models.llm.stream_reply` on the LLM worker, streamed as LiveKit chat chunks."""

    def __init__(self, models: Models) -> None:
        super().__init__()
        self._models = models

    @property
    def model(self) -> str:
        return self._models.llm.name

    @property
    def provider(self) -> str:
        return "voice"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        return _ModelsLLMStream(
            self,
            models=self._models,
            chat_ctx=chat_ctx,
            tools=tools or [],
            conn_options=conn_options,
        )


class _ModelsLLMStream(llm.LLMStream):
    def __init__(
        self,
        llm_: ModelsLLM,
        *,
        models: Models,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
    ) -> None:
        super().__init__(llm_, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._models = models

    async def _run(self) -> None:
        history = dialogue(self.chat_ctx)
        request_id = utils.shortuuid("voice_llm_")
        cancel = threading.Event()  # set when LiveKit cancels this generation
        model = self._models.llm
        try:
            async for piece in self._models.llm_worker.stream(
                lambda: model.stream_reply(history, cancel), cancel
            ):
                self._event_ch.send_nowait(
                    llm.ChatChunk(
                        id=request_id, delta=llm.ChoiceDelta(role="assistant", content=piece)
                    )
                )
        finally:
            cancel.set()


class ModelsTTS(tts.TTS):
    """`models.tts.synthesize` on the TTS worker, one request per text (sentence)."""

    def __init__(self, models: Models) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=models.tts.sample_rate,
            num_channels=1,
        )
        self._models = models

    @property
    def model(self) -> str:
        return self._models.tts.name

    @property
    def provider(self) -> str:
        return "voice"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _ModelsTTSStream(
            tts=self, models=self._models, input_text=text, conn_options=conn_options
        )


class _ModelsTTSStream(tts.ChunkedStream):
    def __init__(
        self, *, tts: ModelsTTS, models: Models, input_text: str, conn_options: APIConnectOptions
    ) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._models = models

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=self._models.tts.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        cancel = threading.Event()
        model = self._models.tts
        text = self.input_text

        def chunks() -> Iterator[Any]:
            return model.synthesize(text, cancel)

        try:
            async for chunk in self._models.tts_worker.stream(chunks, cancel):
                output_emitter.push(chunk.astype("<i2").tobytes())
        finally:
            cancel.set()
        output_emitter.flush()
