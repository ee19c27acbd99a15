"""Deepgram emulator: the listen WebSocket (`/v1/listen`) and `GET /v1/projects`.

Protocol as `deepgram-sdk` speaks it: `Authorization: Token KEY` on the upgrade, query
parameters for the model and the audio format, binary audio messages, then JSON control
messages (`Finalize`, `CloseStream`, `KeepAlive`). It answers with `Results` messages (interim
ones while audio arrives, a final one with `from_finalize: true` after `Finalize`) and a
`Metadata` message on `CloseStream`, then closes. The transcript is `transcript`, or what
`transcriber(audio, encoding, sample_rate)` returns. Audio may be `linear16`, `mulaw` or
`alaw` at the `sample_rate` the query names (`decode` turns any of them into int16 PCM for the
energy endpointing); each request's record notes its encoding, rate and bytes received.
"""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from tests.cloud.emulators.server import DelayedSender, Emulator, arrived

with warnings.catch_warnings():  # deprecated in 3.11-3.12, still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

BYTES_PER_SECOND = {"linear16": 2, "mulaw": 1, "alaw": 1}  # per sample: times the rate, per s
SPEECH_RMS = 300.0  # a 20 ms frame louder than this (as int16 PCM) is speech (streams only)


def decode(audio: bytes, encoding: str) -> np.ndarray:
    """Audio in one of `BYTES_PER_SECOND`'s encodings -> int16 PCM at its own rate."""
    if encoding == "mulaw":
        audio = audioop.ulaw2lin(audio, 2)
    elif encoding == "alaw":
        audio = audioop.alaw2lin(audio, 2)
    return np.frombuffer(audio, dtype="<i2")


def results(
    transcript: str, start: float, duration: float, is_final: bool, from_finalize: bool = False
) -> dict[str, Any]:
    words = [
        {
            "word": w.strip(".,?!").lower(),
            "start": start,
            "end": start + duration,
            "confidence": 0.99,
            "punctuated_word": w,
        }
        for w in transcript.split()
    ]
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": duration,
        "start": start,
        "is_final": is_final,
        "speech_final": is_final,
        "from_finalize": from_finalize,
        "channel": {
            "alternatives": [{"transcript": transcript, "confidence": 0.99, "words": words}]
        },
        "metadata": {
            "request_id": str(uuid.uuid4()),
            "model_info": {"name": "emulator", "version": "0", "arch": "emulator"},
            "model_uuid": str(uuid.uuid4()),
        },
    }


def speech_frames(
    audio: bytearray, scanned: int, rate: int, encoding: str = "linear16"
) -> Iterator[tuple[int, bool]]:
    """The whole 20 ms frames of `audio` (`rate` bytes a second) after byte `scanned`:
    (end byte, speech?)."""
    frame = rate // 50
    while scanned + frame <= len(audio):
        pcm = decode(bytes(audio[scanned : scanned + frame]), encoding)
        scanned += frame
        yield scanned, float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) > SPEECH_RMS


@dataclass
class DeepgramEmulator(Emulator):
    transcript: str = "What is the weather like in London today?"
    transcriber: Callable[[bytes, str, int], str] | None = None
    interim_every_s: float = 0.5  # an interim result per this much audio since the last final
    keep_audio: bool = False  # each request's record keeps the bytes it received ("audio")

    @staticmethod
    def flux_confidence(silence_s: float) -> float:
        """The Flux emulator's end-of-turn confidence after this much silence (a stand-in:
        0.05 while speaking, rising to 0.95 by 0.9 s of silence)."""
        return min(0.95, 0.05 + silence_s)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/listen", self.listen)
        app.router.add_get("/v2/listen", self.listen_flux)
        app.router.add_get("/v1/projects", self.projects)

    def _authorized(self, request: web.Request) -> bool:
        self.headers.append(dict(request.headers))
        return request.headers.get("Authorization") == f"Token {self.key}"

    async def projects(self, request: web.Request) -> web.Response:
        await self.delay.handshake()
        if not self._authorized(request):
            return web.json_response({"err_code": "INVALID_AUTH"}, status=401)
        return web.json_response({"projects": [{"project_id": "emulator", "name": "emulator"}]})

    async def listen(self, request: web.Request) -> web.StreamResponse:
        """nova (`/v1/listen`): results, endpoints, `Finalize`."""
        return await self._serve(request, lambda query, sender: _Stream(self, query, sender))

    async def listen_flux(self, request: web.Request) -> web.StreamResponse:
        """Flux (`/v2/listen`): turns, each `TurnInfo` with an end-of-turn confidence."""
        return await self._serve(request, lambda query, sender: _FluxStream(self, query, sender))

    async def _serve(
        self,
        request: web.Request,
        make: Callable[[dict[str, str], DelayedSender], _Stream | _FluxStream],
    ) -> web.StreamResponse:
        await self.delay.handshake()
        if not self._authorized(request):
            raise web.HTTPUnauthorized(text="invalid credentials")
        query = dict(request.query)
        self.requests.append(
            {
                "query": query,
                "audio_bytes": 0,
                "path": request.path,
                "encoding": query.get("encoding", "linear16"),
                "sample_rate": int(query.get("sample_rate", "16000")),
            }
        )
        record = self.requests[-1]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        stream = make(query, DelayedSender(ws, self.delay))
        if self.keep_audio:
            record["audio"] = stream.audio  # the stream's own buffer: it grows as audio comes
        async for message in ws:
            received = time.monotonic()
            if message.type == WSMsgType.BINARY:
                # No wait per audio chunk: a burst of chunks crosses the network together
                # (waiting on each would add one delay per chunk); the control message that
                # follows them waits for its own arrival.
                stream.audio_in(message.data)
                record["audio_bytes"] = len(stream.audio)
            elif message.type == WSMsgType.TEXT:
                await arrived(received, self.delay)
                control = json.loads(message.data).get("type")
                record.setdefault("controls", []).append(control)
                if control == stream.FINALIZE and self.stall:
                    await self.stalled()
                    break
                if not stream.control(control):
                    break
            else:
                break
        await stream.sender.close()
        await ws.close()
        return ws


class _FluxStream:
    """One Flux socket: a turn starts with speech (`StartOfTurn`), an `Update` follows every
    0.25 s of audio, and the turn ends (`EndOfTurn`) when the confidence reaches
    `eot_threshold` or on `ForceEndTurn`. The emulator's confidence is a stand-in for Flux's
    model: `flux_confidence(silence_s)` of the silence since the last speech frame."""

    UPDATE_S = 0.25
    FINALIZE = "ForceEndTurn"

    def __init__(
        self, emulator: DeepgramEmulator, query: dict[str, str], sender: DelayedSender
    ) -> None:
        self.emulator = emulator
        self.sender = sender
        self.encoding = query.get("encoding", "linear16")
        self.sample_rate = int(query.get("sample_rate", "16000"))
        self.rate = BYTES_PER_SECOND.get(self.encoding, 2) * self.sample_rate
        self.eot_threshold = float(query.get("eot_threshold", "0.7"))
        self.audio = bytearray()
        self.scanned = 0
        self.sequence = 0
        self.turn_index = 0
        self.turn_start: int | None = None  # bytes
        self.speech_end_s: float | None = None
        self.next_update_s = self.UPDATE_S
        self._said: tuple[object, str] = (None, "")  # the last transcript and what it heard
        self._send("Connected", {})

    def _send(self, kind: str, fields: dict[str, Any]) -> None:
        message = {"type": kind, "request_id": "emulator", "sequence_id": self.sequence, **fields}
        self.sequence += 1
        self.sender.send_json(message)

    def audio_in(self, data: bytes) -> None:
        self.audio.extend(data)
        for end, loud in speech_frames(self.audio, self.scanned, self.rate, self.encoding):
            self.scanned = end
            now_s = end / self.rate
            if loud:
                self.speech_end_s = now_s
                if self.turn_start is None:
                    self.turn_start = end - self.rate // 50
                    self._turn_info("StartOfTurn", 0.0)
            if self.turn_start is not None and now_s >= self.next_update_s:
                self.next_update_s = now_s + self.UPDATE_S
                confidence = self._confidence(now_s)
                if confidence >= self.eot_threshold:
                    self.end_turn()
                else:
                    self._turn_info("Update", confidence)

    def _confidence(self, now_s: float) -> float:
        silence = 0.0 if self.speech_end_s is None else now_s - self.speech_end_s
        return self.emulator.flux_confidence(silence)

    def _transcript(self) -> str:
        assert self.turn_start is not None
        if self.emulator.transcriber is None:
            return self.emulator.transcript
        key = (self.turn_start, self.speech_end_s)  # silence adds no words: no new decode
        if self._said[0] != key:
            segment = bytes(self.audio[self.turn_start : self.scanned])
            said = self.emulator.transcriber(segment, self.encoding, self.sample_rate)
            self._said = (key, said)
        return self._said[1]

    def _turn_info(self, event: str, confidence: float, **extra: Any) -> None:
        assert self.turn_start is not None
        start_s, end_s = self.turn_start / self.rate, self.scanned / self.rate
        text = "" if event == "StartOfTurn" else self._transcript()
        words_end = self.speech_end_s if self.speech_end_s is not None else end_s
        words = [
            {
                "word": w.strip(".,?!").lower(),
                "confidence": 0.99,
                "start": start_s,
                "end": words_end,
            }
            for w in text.split()
        ]
        fields = {
            "event": event,
            "turn_index": self.turn_index,
            "audio_window_start": start_s,
            "audio_window_end": end_s,
            "transcript": text,
            "words": words,
            "end_of_turn_confidence": round(confidence, 4),
            **extra,
        }
        self._send("TurnInfo", fields)

    def control(self, kind: str | None) -> bool:
        """A control message; False: the stream is over."""
        if kind in ("ForceEndTurn", "CloseStream"):
            self.end_turn()
        return kind != "CloseStream"

    def end_turn(self) -> None:
        """The turn ends on what was heard (its confidence, or `ForceEndTurn`)."""
        if self.turn_start is None:
            return  # no turn in progress: ignored, as Flux does
        confidence = self._confidence(self.scanned / self.rate)
        self._turn_info("EndOfTurn", confidence, trigger="model")
        self.turn_index += 1
        self.turn_start = None
        self.next_update_s = self.scanned / self.rate + self.UPDATE_S


class _Stream:
    """One listen socket's audio and what has been said about it.

    With `endpointing` in the query (a kept-open stream), 20 ms frames louder than
    `SPEECH_RMS` count as speech (in any encoding `decode` knows): after `endpointing` ms of
    silence following speech the words so far are sent as a final result with `speech_final`,
    and after `utterance_end_ms` an `UtteranceEnd`, as Deepgram does. `Finalize` sends the
    words not yet final, `from_finalize`. Without it (one utterance per socket) every
    `Finalize` answers with the transcript, as before.
    """

    FINALIZE = "Finalize"

    def __init__(
        self, emulator: DeepgramEmulator, query: dict[str, str], sender: DelayedSender
    ) -> None:
        self.emulator = emulator
        self.encoding = query.get("encoding", "linear16")
        self.sample_rate = int(query.get("sample_rate", "16000"))
        self.sender = sender
        self.rate = BYTES_PER_SECOND.get(self.encoding, 2) * self.sample_rate
        self.audio = bytearray()
        self.final_at = 0  # bytes already in a final result
        self.interim_at = emulator.interim_every_s
        endpointing = query.get("endpointing", "false")
        self.endpointing_s = None if endpointing == "false" else int(endpointing) / 1000
        utterance_end = query.get("utterance_end_ms")
        self.utterance_end_s = int(utterance_end) / 1000 if utterance_end else None
        self.scanned = 0  # bytes looked at for speech
        self.speech_end_s: float | None = None  # end of the last speech frame
        self.spoken_since_final = False  # speech in the audio not yet in a final result
        self.endpoint_armed = False  # speech since the last endpoint
        self.last_word_end_s: float | None = None  # for UtteranceEnd

    def control(self, kind: str | None) -> bool:
        """A control message; False: the stream is over (`Metadata` sent)."""
        if kind == "Finalize":
            self.final(from_finalize=True)
        elif kind == "CloseStream":
            self.sender.send_json(
                {
                    "type": "Metadata",
                    "transaction_key": "deprecated",
                    "request_id": str(uuid.uuid4()),
                    "sha256": "0" * 64,
                    "created": "2026-01-01T00:00:00.000Z",
                    "duration": len(self.audio) / self.rate,
                    "channels": 1,
                }
            )
            return False
        return True

    def audio_in(self, data: bytes) -> None:
        self.audio.extend(data)
        seconds = len(self.audio) / self.rate
        if seconds - self.final_at / self.rate >= self.interim_at and not self.emulator.stall:
            self.interim_at += self.emulator.interim_every_s
            words = self.emulator.transcript.split()
            partial = " ".join(words[: max(1, len(words) // 2)])
            start = self.final_at / self.rate
            self.sender.send_json(results(partial, start, seconds - start, is_final=False))
        if self.endpointing_s is not None and self.encoding in BYTES_PER_SECOND:
            self._scan()

    def _scan(self) -> None:
        for end, loud in speech_frames(self.audio, self.scanned, self.rate, self.encoding):
            self.scanned = end
            now_s = end / self.rate
            if loud:
                self.speech_end_s = now_s
                self.spoken_since_final = self.endpoint_armed = True
                continue
            assert self.endpointing_s is not None
            end = self.speech_end_s
            if self.endpoint_armed and end is not None and now_s - end >= self.endpointing_s:
                # The endpoint is acoustic: it comes whether or not a Finalize already made
                # the words final (then its transcript is empty).
                self.endpoint_armed = False
                self.final(from_finalize=False, speech_final=True, until=self.scanned)
            end = self.last_word_end_s
            if self.utterance_end_s and end is not None and now_s - end >= self.utterance_end_s:
                self.sender.send_json(
                    {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": end}
                )
                self.last_word_end_s = None

    def final(
        self, from_finalize: bool, speech_final: bool = False, until: int | None = None
    ) -> None:
        end = len(self.audio) if until is None else until
        start_s, end_s = self.final_at / self.rate, end / self.rate
        segment = bytes(self.audio[self.final_at : end])
        spoken = self.endpointing_s is None or self.encoding not in BYTES_PER_SECOND
        spoken = spoken or self.spoken_since_final
        text = ""
        if spoken:
            text = self.emulator.transcript
            if self.emulator.transcriber is not None:
                text = self.emulator.transcriber(segment, self.encoding, self.sample_rate)
        words_end_s = end_s if self.speech_end_s is None else min(self.speech_end_s, end_s)
        if text:
            self.last_word_end_s = words_end_s
        message = results(
            text, start_s, end_s - start_s, is_final=True, from_finalize=from_finalize
        )
        message["speech_final"] = speech_final
        for word in message["channel"]["alternatives"][0]["words"]:
            word["end"] = words_end_s
        self.sender.send_json(message)
        self.final_at = end
        self.spoken_since_final = False
