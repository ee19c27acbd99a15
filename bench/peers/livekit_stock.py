"""Local Whisper and Piper as LiveKit plugins, written the way a LiveKit user would write them.

LiveKit Agents has no local Whisper or Piper plugin, so the stock peer needs its own: these are
deliberately plain (faster-whisper's default `transcribe()`, `PiperVoice.load()`), so that the
stock peer measures what a LiveKit user gets with these models, not our tuned providers (that
is the same-providers variant's job). Only the thread counts are pinned, as for every agent
(Whisper's `cpu_threads`; Piper's ONNX session rebuilt with our TTS thread count instead of ONNX
Runtime's default of one per core), and both are warmed once like every agent's models
(`bench.peers.warm`).

Whisper is non-streaming: LiveKit's session wraps it in `stt.StreamAdapter` with the session's
VAD, which sends each VAD-delimited utterance to `_recognize_impl`. Piper is non-streaming too:
LiveKit's `tts.StreamAdapter` splits the reply into sentences and calls `synthesize()` per
sentence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel
from livekit.agents import APIConnectOptions, stt, tts, utils
from livekit.agents.language import LanguageCode
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

from bench.peers.livekit_io import buffer_to_pcm16k
from bench.peers.warm import onnx_threads, pinned_piper, warm_piper, warm_whisper


class FasterWhisperSTT(stt.STT):
    """faster-whisper (CTranslate2, int8 on CPU) with its default decoding settings."""

    def __init__(self, model_dir: Path, *, cpu_threads: int = 1, language: str = "en") -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._model_dir = model_dir
        self._language = language
        self._whisper = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads
        )

    @property
    def model(self) -> str:
        return self._model_dir.name

    @property
    def provider(self) -> str:
        return "faster-whisper"

    def warm_up(self) -> None:
        """One inference on silence, so graph set-up does not land on the first turn."""
        warm_whisper(self._whisper)

    def _transcribe(self, audio: np.ndarray) -> str:
        segments, _info = self._whisper.transcribe(audio)
        return " ".join(segment.text.strip() for segment in segments).strip()

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        audio = buffer_to_pcm16k(buffer).astype(np.float32) / 32768.0
        text = await asyncio.to_thread(self._transcribe, audio)
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=LanguageCode(self._language), text=text)],
        )


class PiperTTS(tts.TTS):
    """A Piper voice loaded with `PiperVoice.load()`, one request per text (sentence)."""

    def __init__(self, model_path: Path, config_path: Path, *, threads: int = 2) -> None:
        voice = pinned_piper(model_path, config_path, threads)
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=int(voice.config.sample_rate),
            num_channels=1,
        )
        self._voice = voice
        self._model_path = model_path

    @property
    def model(self) -> str:
        return self._model_path.stem

    @property
    def provider(self) -> str:
        return "piper"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _PiperStream(tts=self, input_text=text, conn_options=conn_options)

    @property
    def threads(self) -> int | None:
        return onnx_threads(self._voice.session)

    def warm_up(self) -> None:
        """One synthesis, so ONNX set-up does not land on the first reply."""
        warm_piper(self._voice)

    def audio_chunks(self, text: str) -> Iterator[bytes]:
        """Piper's chunks (one per sentence) as int16 bytes."""
        for chunk in self._voice.synthesize(text):
            yield chunk.audio_int16_bytes


class _PiperStream(tts.ChunkedStream):
    def __init__(self, *, tts: PiperTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._piper = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=self._piper.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        # Piper blocks, so each sentence is synthesized off the event loop as it is needed.
        chunks = self._piper.audio_chunks(self.input_text)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            output_emitter.push(chunk)
        output_emitter.flush()
