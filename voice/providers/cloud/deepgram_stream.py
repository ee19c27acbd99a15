"""One Deepgram listen socket per call, fed the caller's audio as it arrives (`deepgram-sdk`).

Why: a socket per utterance pays the handshake (TCP, TLS, upgrade: about 3 round trips)
after the caller stopped speaking, in front of the end-of-turn decision and the reply. Here
the call's first frame opens the socket and it stays open; every input frame is sent as it
comes, so Deepgram transcribes while the user speaks and at a pause only `Finalize` and its
answer cross the network. When Deepgram's own endpointing has already finalized the words up
to the end of speech, not even that: the transcript is there when it is asked for.

Deepgram's own judgement of the end goes to `on_end_of_speech(kind, media_ns, confidence)`
as evidence for the end-of-turn decision (voice/agent/end_of_turn.py). The nova models
(`listen/v1`) send end-of-speech events, `speech_final` on a final result and `UtteranceEnd`
(no confidence: acoustic, they never decide alone). Flux (`listen/v2`, `flux: True`) models
the end of the turn itself: each `TurnInfo` (an `Update` every ~0.25 s of audio, and
`EagerEndOfTurn`, `EndOfTurn`) carries `end_of_turn_confidence` for the audio up to its
window's end. Flux keeps the whole turn's transcript on every message, so a pause needs no
message of ours at all: the words are there once a `TurnInfo` reaches the end of speech. Our
pauses never force Flux's turn to end (`ForceEndTurn` would cut its view of the turn at
every hold, and its confidence with it).

Audio: 16 kHz linear16, or on a phone call the caller's 8 kHz G.711 bytes as they came
(`stream_audio`: the call's first frame chooses, for the stream's life).

Threads: `push()` only queues (it runs on the event loop). A sender thread owns the socket's
sending side: audio in messages of up to 100 ms, `Finalize` after the audio queued before it,
`KeepAlive` when the input goes quiet (Deepgram closes an idle socket after 10 s). A receiver
thread per connection reads results onto a timeline in stream time (seconds since the
connection's first sample); anchors (sample on the connection at the stream's rate, media
time) map it to the session's media clock. A broken connection fails the calls waiting on it
(the failover wrapper answers them locally) and is opened again by later audio, at most once
per `retry_s`; an utterance that began before the new connection is not transcribed by it.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np

from voice.pipeline.frames import WireAudio
from voice.providers.cloud.secrets import redact
from voice.providers.cloud.stream_audio import StreamAudio, StreamEncoder

log = logging.getLogger(__name__)

_MESSAGES_PER_S = 10  # coalesce queued frames into messages of up to 100 ms
_KEEPALIVE_S = 4.0
_WORD_SLACK_S = 0.25  # a word may end this far after the VAD's end of speech


class StreamBroken(RuntimeError):
    """The stream cannot transcribe this utterance (socket lost, or opened after it began)."""


@dataclass(frozen=True)
class _Word:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class _Final:
    start_s: float
    end_s: float
    words: tuple[_Word, ...]
    text: str = ""  # Flux: the turn's punctuated transcript (its words come bare)

    def text_within(self, start_s: float, end_s: float) -> list[str]:
        """The words that overlap [start_s, end_s]; the whole transcript if all of them do."""
        inside = [w.text for w in self.words if w.end_s > start_s and w.start_s < end_s]
        if self.text and inside and len(inside) == len(self.words):
            return [self.text]
        return inside


class _Connection:
    """One open socket and what it has said, in its own stream time."""

    def __init__(
        self, ident: int, socket: Any, close: Callable[[], None], sample_rate: int
    ) -> None:
        self.ident = ident
        self.socket = socket
        self.close = close
        self.sample_rate = sample_rate  # of the audio sent (16 kHz linear16, 8 kHz G.711)
        self.samples = 0  # sent so far
        self.anchor_samples: list[int] = []
        self.anchor_media_ns: list[int] = []
        self.finals: dict[int, _Final] = {}  # v1: in arrival order; Flux: by turn (the latest)
        self.covered_s = 0.0  # the stream time up to which the words are in `finals`
        self.finalizes_sent = 0
        self.finalizes_answered = 0
        self.broken: str | None = None

    def anchor(self, media_ns: int, samples: int) -> None:
        self.anchor_samples.append(self.samples)
        self.anchor_media_ns.append(media_ns)
        self.samples += samples

    def stream_s(self, media_ns: int) -> float | None:
        """Stream time of a media time; None if it is before this connection's audio."""
        i = bisect.bisect_right(self.anchor_media_ns, media_ns) - 1
        if i < 0:
            return None
        rate = self.sample_rate
        return (self.anchor_samples[i] + (media_ns - self.anchor_media_ns[i]) * 1e-9 * rate) / rate

    def media_ns(self, stream_s: float) -> int | None:
        rate = self.sample_rate
        sample = stream_s * rate
        i = bisect.bisect_right(self.anchor_samples, sample) - 1
        if i < 0:
            return None
        return self.anchor_media_ns[i] + round((sample - self.anchor_samples[i]) / rate * 1e9)

    def words_end_s(self) -> list[float]:
        return [w.end_s for f in self.finals.values() for w in f.words]


class DeepgramStream:
    """A call's live connection to Deepgram: `push()` every frame, `transcribe()` at a pause."""

    def __init__(
        self,
        connect: Callable[[str, int], AbstractContextManager[Any]],
        on_end_of_speech: Callable[[str, int, float | None], None] | None = None,
        retry_s: float = 5.0,
        wait_s: float = 10.0,
        flux: bool = False,
    ) -> None:
        self._flux = flux  # listen/v2: TurnInfo messages, no Finalize
        self._connect = connect  # (encoding, sample_rate) -> the SDK's listen socket (a context)
        self._encoder: StreamEncoder | None = None  # the first frame chooses the format
        self._on_end_of_speech = on_end_of_speech
        self._retry_s = retry_s
        self._wait_s = wait_s  # the longest a transcribe waits (the failover gives up sooner)
        self._outbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._changed = threading.Condition()
        self._connection: _Connection | None = None
        self._idents = 0
        self._last_attempt = -float("inf")
        self._sender: threading.Thread | None = None
        self._closed = False
        self._handled_until_ns = -(2**62)  # media time up to which queued audio was sent or dropped

    # -- the session's side ------------------------------------------------------------------

    def push(self, pcm: np.ndarray, media_time_ns: int, wire: WireAudio | None = None) -> None:
        """Queue one input frame (16 kHz int16; `wire`: the G.711 it was decoded from, sent
        instead when the call's first frame had it). Never blocks."""
        if self._closed:
            return
        if self._encoder is None:
            self._encoder = StreamEncoder(wire)
        if self._sender is None:
            self._sender = threading.Thread(
                target=self._send_loop, name="deepgram-send", daemon=True
            )
            self._sender.start()
        self._outbox.put(("audio", self._encoder.encode(pcm, media_time_ns, wire)))

    def transcribe(self, start_ns: int, eos_ns: int, stop: threading.Event | None = None) -> str:
        """The words said between `start_ns` and `eos_ns` (media time), final.

        Nova: asks Deepgram to finalize what it holds unless its finals already reach
        `eos_ns`. Flux: waits for a `TurnInfo` whose window reaches `eos_ns`. Raises
        `StreamBroken` when this connection cannot answer for the whole utterance.
        """
        deadline = time.monotonic() + self._wait_s
        with self._changed:
            # The audio up to the end of speech may still be queued (or the socket opening).
            while self._handled_until_ns < eos_ns:
                if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
                    raise StreamBroken("the audio was not sent in time")
                self._changed.wait(0.05)
            connection = self._connection
            start_s = connection.stream_s(start_ns) if connection else None
            if connection is None or connection.broken or start_s is None:
                raise StreamBroken(self._why_not(connection))
            eos_s = connection.stream_s(eos_ns)
            assert eos_s is not None
            target = None
            if connection.covered_s < eos_s and not self._flux:
                connection.finalizes_sent += 1
                target = connection.finalizes_sent
                self._outbox.put(("finalize", connection.ident))
            while connection.covered_s < eos_s and (
                target is None or connection.finalizes_answered < target
            ):
                if connection.broken:
                    raise StreamBroken(connection.broken)
                if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
                    raise StreamBroken("no words up to the end of speech")
                self._changed.wait(0.05)
            words = [
                text
                for f in connection.finals.values()
                for text in f.text_within(start_s, eos_s + _WORD_SLACK_S)
            ]
        return " ".join(words).strip()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._outbox.put(("close", None))
        if self._sender is not None:
            self._sender.join(timeout=2.0)

    # -- sending -----------------------------------------------------------------------------

    def _send_loop(self) -> None:
        held: tuple[str, Any] | None = None  # the item that ended the last audio message
        try:
            while True:
                if held is not None:
                    (kind, item), held = held, None
                else:
                    try:
                        kind, item = self._outbox.get(timeout=_KEEPALIVE_S)
                    except queue.Empty:
                        if not self._flux:  # Flux has no KeepAlive; its input never pauses here
                            self._send(lambda s: s.send_keep_alive())
                        continue
                if kind == "close":
                    break
                if kind == "finalize":
                    connection = self._connection
                    if connection is not None and connection.ident == item:
                        self._send(lambda s: s.send_finalize())
                    continue
                held = self._send_audio(item)
        finally:
            self._disconnect(None, closing=True)

    def _send_audio(self, audio: StreamAudio) -> tuple[str, Any] | None:
        """Send this frame and the frames queued behind it (up to 100 ms) as one message;
        returns the non-audio item that ended the run, if any. One anchor per message: the
        frames are contiguous unless the transport dropped some. Durations are the frames'
        sample counts at the stream's rate, whatever the bytes per sample."""
        assert self._encoder is not None  # set by the push that queued the audio
        rate = self._encoder.format.sample_rate
        chunks = [audio.data]
        samples = audio.samples
        held: tuple[str, Any] | None = None
        while samples < rate // _MESSAGES_PER_S:
            try:
                kind, item = self._outbox.get_nowait()
            except queue.Empty:
                break
            if kind != "audio":
                held = (kind, item)
                break
            chunks.append(item.data)
            samples += item.samples
        data = b"".join(chunks)
        end_ns = audio.media_ns + round(samples / rate * 1e9)
        connection = self._connection or self._open()
        if connection is not None:
            with self._changed:
                connection.anchor(audio.media_ns, samples)
            self._send(lambda s: s.send_media(data))
        # else no connection: this audio is not transcribed; the local STT covers it
        with self._changed:
            self._handled_until_ns = end_ns
            self._changed.notify_all()
        return held

    def _send(self, action: Callable[[Any], None]) -> None:
        connection = self._connection
        if connection is None or connection.broken:
            return
        try:
            action(connection.socket)
        except Exception as exc:
            self._disconnect(connection, f"send failed: {type(exc).__name__}: {exc}")

    def _open(self) -> _Connection | None:
        now = time.monotonic()
        if now - self._last_attempt < self._retry_s:
            return None
        self._last_attempt = now
        assert self._encoder is not None  # the audio that asks for a socket was pushed
        fmt = self._encoder.format
        stack = contextlib.ExitStack()
        try:
            socket = stack.enter_context(self._connect(fmt.encoding, fmt.sample_rate))
        except Exception as exc:
            log.warning(
                "deepgram stream: connect failed: %s", redact(f"{type(exc).__name__}: {exc}")
            )
            stack.close()
            return None
        self._idents += 1
        connection = _Connection(self._idents, socket, stack.close, fmt.sample_rate)
        with self._changed:
            self._connection = connection
            self._changed.notify_all()
        threading.Thread(
            target=self._receive_loop, args=(connection,), name="deepgram-recv", daemon=True
        ).start()
        return connection

    def _disconnect(
        self, connection: _Connection | None, why: str | None = None, closing: bool = False
    ) -> None:
        with self._changed:
            connection = connection or self._connection
            if connection is None:
                return
            if connection.broken is None:
                connection.broken = why or "the stream was closed"
            if self._connection is connection:
                self._connection = None
            self._changed.notify_all()
        if why is not None and not closing:
            log.warning("deepgram stream: %s", redact(why))
        if closing:
            with contextlib.suppress(Exception):
                connection.socket.send_close_stream()
        with contextlib.suppress(Exception):
            connection.close()

    # -- receiving ---------------------------------------------------------------------------

    def _receive_loop(self, connection: _Connection) -> None:
        try:
            for message in connection.socket:
                self._on_message(connection, message)
        except Exception as exc:
            if connection.broken is None:
                self._disconnect(connection, f"receive failed: {type(exc).__name__}: {exc}")
            return
        if connection.broken is None:
            self._disconnect(connection, "Deepgram closed the stream")

    def _on_message(self, connection: _Connection, message: Any) -> None:
        kind = getattr(message, "type", None)
        event: tuple[str, float, float | None] | None = None
        if kind == "Results" and message.is_final:
            final = _final(message)
            with self._changed:
                connection.finals[len(connection.finals)] = final
                connection.covered_s = max(connection.covered_s, final.end_s)
                if message.from_finalize:
                    connection.finalizes_answered += 1
                self._changed.notify_all()
                ends = connection.words_end_s()
            # An endpoint after a Finalize already took the words has none of its own: the
            # speech it ends is the last word heard.
            if message.speech_final and ends:
                event = ("speech_final", max(ends), None)
        elif kind == "UtteranceEnd":
            event = ("utterance_end", float(message.last_word_end), None)
        elif kind == "TurnInfo":
            start, end = float(message.audio_window_start), float(message.audio_window_end)
            words = tuple(
                _Word(
                    start if w.start is None else float(w.start),
                    end if w.end is None else float(w.end),
                    w.word,
                )
                for w in message.words or []
            )
            with self._changed:
                turn = _Final(start, end, words, str(message.transcript or ""))
                connection.finals[int(message.turn_index)] = turn
                connection.covered_s = max(connection.covered_s, end)
                self._changed.notify_all()
            if message.event in ("Update", "EagerEndOfTurn", "EndOfTurn"):
                event = (str(message.event), end, float(message.end_of_turn_confidence))
        if event is not None and self._on_end_of_speech is not None:
            with self._changed:
                media_ns = connection.media_ns(event[1])
            if media_ns is not None:
                try:
                    self._on_end_of_speech(event[0], media_ns, event[2])
                except Exception:  # the listener's failure must not end the call's stream
                    log.exception("deepgram stream: end-of-speech listener failed")

    @staticmethod
    def _why_not(connection: _Connection | None) -> str:
        if connection is None:
            return "no open stream"
        if connection.broken:
            return connection.broken
        return "the stream opened after the utterance began"


def _final(message: Any) -> _Final:
    start = float(message.start)
    end = start + float(message.duration)
    alternatives = message.channel.alternatives
    words: tuple[_Word, ...] = ()
    if alternatives:
        best = alternatives[0]
        items = best.words or []
        words = tuple(
            _Word(float(w.start), float(w.end), w.punctuated_word or w.word) for w in items
        )
        if not words and best.transcript:  # no word timings: the whole window's text
            words = (_Word(start, end, best.transcript),)
    return _Final(start, end, words)
