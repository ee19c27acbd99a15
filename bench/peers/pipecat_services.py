"""Our own STT, LLM and TTS as Pipecat services, for the `same_providers` Pipecat variant.

With the same models behind the same calls as our agent (each on its one model worker thread),
the difference between this variant and our agent is the framework: Pipecat's VAD and turn
strategy, its frame routing, sentence aggregation and output handling. Each service does the
least a Pipecat service must: the STT answers a VAD-delimited segment with one transcript, the
LLM answers a context frame with a bracketed stream of text frames, the TTS answers a sentence
with audio frames. Cancellation (Pipecat cancels a service's task on an interruption) sets the
turn's cancel flag, so the model thread stops within one step, as in our agent.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import numpy as np
from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    TranscriptionFrame,
)
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings, STTSettings, TTSSettings
from pipecat.services.stt_latency import WHISPER_TTFS_P99
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601

from bench.peers.llm_server import dialogue_history
from voice.audio import SAMPLE_RATE
from voice.providers.registry import Models


def _our_llm_settings(models: Models) -> LLMSettings:
    """Settings Pipecat shows for our LLM; sampling is our provider's own, from our config."""
    return LLMSettings(
        model=models.llm.name,
        system_instruction=None,
        temperature=None,
        max_tokens=None,
        top_p=None,
        top_k=None,
        frequency_penalty=None,
        presence_penalty=None,
        seed=None,
        filter_incomplete_user_turns=False,
        user_turn_completion_config=None,
    )


class OurSTTService(SegmentedSTTService):
    """Our Whisper provider on a Pipecat VAD segment.

    Pipecat's padding of the segment is off: our provider pads the utterance itself.
    """

    def __init__(self, models: Models, **kwargs: Any) -> None:
        super().__init__(
            sample_rate=SAMPLE_RATE,
            trailing_silence_secs=0.0,
            ttfs_p99_latency=WHISPER_TTFS_P99,  # what Pipecat assumes for its Whisper service
            settings=STTSettings(model=models.stt.name, language=Language.EN),
            **kwargs,
        )
        self._models = models

    @property
    def wants_wav_segments(self) -> bool:
        return False

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        pcm = np.frombuffer(audio, dtype=np.int16).copy()
        text = await self._models.stt_worker.run(self._models.stt.transcribe, pcm)
        if text.strip():
            yield TranscriptionFrame(text.strip(), self._user_id, time_now_iso8601())


class OurLLMService(LLMService):
    """Our llama.cpp provider answering Pipecat's LLM context.

    The dialogue is rebuilt from the context's user and assistant messages; the system prompt
    and few-shot turns are our provider's own, as in our agent.
    """

    def __init__(self, models: Models, **kwargs: Any) -> None:
        super().__init__(settings=_our_llm_settings(models), **kwargs)
        self._models = models

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            await self.push_frame(LLMFullResponseStartFrame())
            try:
                await self._reply(frame.context)
            finally:
                await self.push_frame(LLMFullResponseEndFrame())
        else:
            await self.push_frame(frame, direction)

    async def _reply(self, context: LLMContext) -> None:
        # LLM-specific messages (another service's private format) are not dialogue
        messages = [m for m in context.get_messages() if isinstance(m, Mapping)]
        history = dialogue_history(messages)
        if not history or history[-1].role != "user":
            return
        cancel = threading.Event()
        llm = self._models.llm
        try:
            async for piece in self._models.llm_worker.stream(
                lambda: llm.stream_reply(history, cancel), cancel
            ):
                await self._push_llm_text(piece)
        finally:
            cancel.set()


class OurTTSService(TTSService):
    """Our Piper provider synthesizing each text Pipecat's sentence aggregator hands it."""

    def __init__(self, models: Models, **kwargs: Any) -> None:
        super().__init__(
            push_start_frame=True,
            push_stop_frames=True,
            settings=TTSSettings(model=models.tts.name, voice=None, language=Language.EN),
            **kwargs,
        )
        self._models = models

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        cancel = threading.Event()
        try:
            async for frame in self._stream_audio_frames_from_iterator(
                self._chunks(text, cancel),
                in_sample_rate=self._models.tts.sample_rate,
                context_id=context_id,
            ):
                yield frame
        finally:
            cancel.set()

    async def _chunks(self, text: str, cancel: threading.Event) -> AsyncIterator[bytes]:
        tts = self._models.tts
        async for pcm in self._models.tts_worker.stream(
            lambda: tts.synthesize(text, cancel), cancel
        ):
            yield np.asarray(pcm, dtype=np.int16).tobytes()
