"""Deepgram streaming STT over its listen WebSocket (`deepgram-sdk`).

Two ways to use it. `open_stream()` (the session's way, `deepgram.streaming = true`): one
socket per call, fed every frame as it arrives (voice/providers/cloud/deepgram_stream.py), as
16 kHz linear16 or, on a phone call, the caller's 8 kHz G.711 as is (`stream_audio.py`).
`transcribe()`: one socket per utterance, for a caller that has only the whole utterance:
it opens a socket, sends the audio at once (faster than real time), asks Deepgram to
`Finalize`, and joins the final results up to the one that answers the finalize; interim
results are read past. Audio goes
as 16 kHz linear16, or as it came (`transcribe_encoded`, e.g. 8 kHz mu-law from a phone
line, which Deepgram accepts as is).

Timeouts: the SDK opens its sockets through a transport factory (its documented extension
point), which here adds an open timeout and a read timeout to `websockets`' sync client. The
factory is process-wide in the SDK, so each call passes its own timeouts on a thread-local.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from voice.audio import SAMPLE_RATE
from voice.config import DeepgramConfig
from voice.providers.cloud.deepgram_stream import DeepgramStream
from voice.providers.cloud.urls import http_and_ws

_CHUNK_BYTES = 8000  # 250 ms of 16 kHz linear16 per WebSocket message
_timeouts = threading.local()


class _TimedConnection:
    """A `websockets` sync connection whose reads give up after the read timeout."""

    def __init__(self, connection: Any, read_timeout_s: float | None) -> None:
        self._connection = connection
        self._read_timeout_s = read_timeout_s

    def send(self, data: Any) -> None:
        self._connection.send(data)

    def recv(self) -> Any:
        return self._connection.recv(timeout=self._read_timeout_s)

    def __iter__(self) -> Iterator[Any]:
        from websockets.exceptions import ConnectionClosedOK

        try:
            while True:
                yield self.recv()
        except ConnectionClosedOK:
            return

    def close(self) -> None:
        self._connection.close()


def _timed_transport(url: str, headers: dict[str, str]) -> _TimedConnection:
    from websockets.sync.client import connect

    connection = connect(
        url,
        additional_headers=headers,
        open_timeout=getattr(_timeouts, "open_s", 10.0),
        legacy=True,  # the connection itself, closed by the SDK's shim
    )
    return _TimedConnection(connection, getattr(_timeouts, "read_s", 10.0))


_NO_READ_TIMEOUT = None  # a call's stream may be quiet for long; its waits have their own


class DeepgramSTT:
    name = "deepgram"

    def __init__(self, api_key: str, settings: DeepgramConfig) -> None:
        from deepgram import DeepgramClient
        from deepgram.environment import DeepgramClientEnvironment

        self.settings = settings
        environment = DeepgramClientEnvironment.PRODUCTION
        if settings.base_url:
            http, ws = http_and_ws(settings.base_url)
            environment = DeepgramClientEnvironment(
                base=http, production=ws, agent=ws, agent_rest=http
            )
        self.base_url = environment.base
        self._client = DeepgramClient(
            api_key=api_key,
            environment=environment,
            transport_factory=_timed_transport,
            timeout=settings.read_timeout_ms / 1000,
            max_retries=0,
        )

    @property
    def streaming(self) -> bool:
        return self.settings.streaming

    @property
    def flux(self) -> bool:
        """Flux models speak `listen/v2` (turns, with an end-of-turn confidence)."""
        return self.settings.model.startswith("flux")

    def open_stream(
        self, on_end_of_speech: Callable[[str, int, float | None], None] | None = None
    ) -> DeepgramStream:
        """A call's kept-open socket; `on_end_of_speech(kind, media_ns, confidence)` gets
        Deepgram's `speech_final` and `UtteranceEnd` events (nova), or each `TurnInfo`'s
        end-of-turn confidence (Flux)."""
        settings = self.settings

        def connect(encoding: str, sample_rate: int) -> AbstractContextManager[Any]:
            _timeouts.open_s = settings.connect_timeout_ms / 1000
            _timeouts.read_s = _NO_READ_TIMEOUT
            if self.flux:
                return self._client.listen.v2.connect(
                    model=settings.model, encoding=encoding, sample_rate=sample_rate
                )
            return self._client.listen.v1.connect(
                model=settings.model,
                language=settings.language,
                encoding=encoding,
                sample_rate=sample_rate,
                channels=1,
                interim_results="true",
                smart_format="true",
                endpointing=str(settings.endpointing_ms),
                utterance_end_ms=str(settings.utterance_end_ms),
                vad_events="true",
            )

        wait_s = settings.read_timeout_ms / 1000
        return DeepgramStream(connect, on_end_of_speech, wait_s=wait_s, flux=self.flux)

    def transcribe(self, pcm: np.ndarray) -> str:
        audio = np.asarray(pcm, dtype="<i2").tobytes()
        return self.transcribe_encoded(audio, encoding="linear16", sample_rate=SAMPLE_RATE)

    def transcribe_encoded(self, audio: bytes, encoding: str, sample_rate: int) -> str:
        """Final transcript of one utterance in Deepgram's `encoding` (linear16, mulaw, ...)."""
        _timeouts.open_s = self.settings.connect_timeout_ms / 1000
        _timeouts.read_s = self.settings.read_timeout_ms / 1000
        if self.flux:
            return self._transcribe_flux(audio, encoding, sample_rate)
        finals: list[str] = []
        with self._client.listen.v1.connect(
            model=self.settings.model,
            language=self.settings.language,
            encoding=encoding,
            sample_rate=sample_rate,
            channels=1,
            interim_results="true",
            smart_format="true",
        ) as socket:
            for start in range(0, len(audio), _CHUNK_BYTES):
                socket.send_media(audio[start : start + _CHUNK_BYTES])
            socket.send_finalize()
            for message in socket:
                if getattr(message, "type", None) != "Results" or not message.is_final:
                    continue
                alternatives = message.channel.alternatives
                if alternatives and alternatives[0].transcript:
                    finals.append(alternatives[0].transcript)
                if message.from_finalize:
                    break
            socket.send_close_stream()
        return " ".join(finals).strip()

    def _transcribe_flux(self, audio: bytes, encoding: str, sample_rate: int) -> str:
        """One utterance on its own Flux socket: the audio, `ForceEndTurn` (the turn ends on
        what was heard), `CloseStream`; each turn's last transcript, joined."""
        turns: dict[int, str] = {}
        with self._client.listen.v2.connect(
            model=self.settings.model, encoding=encoding, sample_rate=sample_rate
        ) as socket:
            for start in range(0, len(audio), _CHUNK_BYTES):
                socket.send_media(audio[start : start + _CHUNK_BYTES])
            socket.send_force_end_turn()
            socket.send_close_stream()
            for message in socket:  # until Deepgram closes the stream
                if getattr(message, "type", None) == "TurnInfo":
                    turns[int(message.turn_index)] = message.transcript or ""
        return " ".join(turns[i] for i in sorted(turns) if turns[i]).strip()

    def check(self) -> None:
        """An authorized request (doctor): raises on a network error or a refused key."""
        self._client.manage.v1.projects.list()
