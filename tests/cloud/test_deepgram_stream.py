"""A call's kept-open Deepgram socket, through the real SDK against the emulator.

The emulator streams like Deepgram: interim results while audio arrives, a final result with
`speech_final` after `endpointing` ms of silence following speech, an `UtteranceEnd` after
`utterance_end_ms`, and the words not yet final on `Finalize`. A phone call's frames carry the
caller's G.711 (`AudioFrame.wire`), and the stream sends those bytes as they came.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

from telephony.g711 import ENCODING_NAMES, Law, PhoneDecoder, PhoneEncoder, decode
from tests.cloud.conftest import KEY
from voice.audio import SAMPLE_RATE
from voice.config import Config, DeepgramConfig
from voice.pipeline.frames import WireAudio
from voice.providers.cloud.deepgram_stream import StreamBroken
from voice.providers.cloud.deepgram_stt import DeepgramSTT
from voice.talk import load_caller_audio, talk

pytestmark = pytest.mark.timeout(30)
FRAME = SAMPLE_RATE // 50  # 20 ms
FRAME_NS = 20_000_000
T0 = 5_000_000_000  # the call's media clock starts anywhere


def _tone(seconds: float) -> np.ndarray:
    n = round(seconds * SAMPLE_RATE)
    return (np.sin(np.arange(n) / 5) * 4000).astype(np.int16)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.int16)


class _Caller:
    """Pushes audio frame by frame on a media clock, as the session does; with a `law`, as a
    phone call's frames come: the caller's G.711 and the 16 kHz PCM decoded from it."""

    def __init__(self, stream, law: Law | None = None) -> None:
        self.stream = stream
        self.now_ns = T0
        self.law = law
        self.wire_sent = bytearray()
        if law is not None:
            self._encoder, self._decoder = PhoneEncoder(law), PhoneDecoder(law)

    def say(self, pcm: np.ndarray) -> tuple[int, int]:
        start = self.now_ns
        for i in range(0, len(pcm), FRAME):
            frame = pcm[i : i + FRAME]
            if self.law is None:
                self.stream.push(frame, self.now_ns)
            else:
                payload = self._encoder.push(frame)  # what the phone would have sent
                self.wire_sent += payload
                wire = WireAudio(ENCODING_NAMES[self.law], 8000, payload)
                self.stream.push(self._decoder.push(payload), self.now_ns, wire)
            self.now_ns += FRAME_NS
        return start, self.now_ns


def _wait_for(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def stt(deepgram) -> DeepgramSTT:
    settings = DeepgramConfig(base_url=deepgram.base_url, endpointing_ms=300, utterance_end_ms=600)
    return DeepgramSTT(KEY, settings)


@pytest.mark.parametrize("law", [None, "ulaw", "alaw"])
def test_one_socket_serves_every_utterance_of_a_call(deepgram, stt, law):
    deepgram.emulator.transcript = "Hello world."
    events: list[tuple[str, int]] = []
    stream = stt.open_stream(lambda kind, media_ns, _: events.append((kind, media_ns)))
    caller = _Caller(stream, law)
    try:
        start, eos = caller.say(_tone(1.0))
        caller.say(_silence(0.1))
        # A pause shorter than Deepgram's endpointing: only Finalize gets the words.
        assert stream.transcribe(start, eos) == "Hello world."
        caller.say(_silence(2.0))
        start2, eos2 = caller.say(_tone(0.8))
        caller.say(_silence(0.8))  # past endpointing and utterance_end
        _wait_for(lambda: len(events) >= 4)
        finalizes = deepgram.emulator.requests[-1]["controls"].count("Finalize")
        # Deepgram's own endpointing made the words final: no Finalize needed.
        assert stream.transcribe(start2, eos2) == "Hello world."
        assert deepgram.emulator.requests[-1]["controls"].count("Finalize") == finalizes
    finally:
        stream.close()
    assert len(deepgram.emulator.requests) == 1  # one socket for the whole call
    query = deepgram.emulator.requests[0]["query"]
    assert query["endpointing"] == "300" and query["utterance_end_ms"] == "600"
    # Deepgram's events on the call's media clock, two per utterance: its endpoint
    # (speech_final; after the first one's Finalize it carries no words but still names the
    # end of the last one) and, after the gap in the words, UtteranceEnd.
    kinds = ["speech_final", "utterance_end"] * 2
    assert [kind for kind, _ in events] == kinds
    for (_, media_ns), expected in zip(events, [eos, eos, eos2, eos2], strict=True):
        assert abs(media_ns - expected) <= 2 * FRAME_NS
    assert deepgram.emulator.requests[0]["controls"][-1] == "CloseStream"
    # A phone call's stream is the caller's G.711 as is: 8 kHz, a byte a sample.
    request = deepgram.emulator.requests[0]
    if law is None:
        assert (request["encoding"], request["sample_rate"]) == ("linear16", SAMPLE_RATE)
    else:
        assert (request["encoding"], request["sample_rate"]) == (ENCODING_NAMES[law], 8000)
        assert request["audio_bytes"] == len(caller.wire_sent)


def test_a_phone_calls_stream_sends_exactly_the_callers_bytes(deepgram, stt):
    """The G.711 payloads go to Deepgram untouched, in order; a frame that came without them
    (none should) is converted, so the socket still hears it, in the same format."""
    deepgram.emulator.keep_audio = True
    heard: list[tuple[str, int]] = []

    def transcriber(audio: bytes, encoding: str, rate: int) -> str:
        heard.append((encoding, rate))
        return "Hello world."

    deepgram.emulator.transcriber = transcriber
    stream = stt.open_stream()
    caller = _Caller(stream, "ulaw")
    try:
        start, eos = caller.say(_tone(0.6))
        for _ in range(5):  # 100 ms of tone as PCM alone
            stream.push(_tone(0.02), caller.now_ns)
            caller.now_ns += FRAME_NS
        caller.say(_silence(0.1))
        assert stream.transcribe(start, eos) == "Hello world."
    finally:
        stream.close()
    (request,) = deepgram.emulator.requests
    received = bytes(request["audio"])
    assert len(received) == len(caller.wire_sent) + 5 * 160  # 8000 bytes a second
    assert received[:4800] == bytes(caller.wire_sent[:4800])
    assert received[5600:] == bytes(caller.wire_sent[4800:])
    converted = decode(received[4800:5600], "ulaw")
    assert np.sqrt(np.mean(converted[80:].astype(float) ** 2)) > 2000  # the tone, at 8 kHz
    assert heard and set(heard) == {("mulaw", 8000)}


def test_an_utterance_is_only_its_own_words(deepgram, stt):
    said = iter(["First thing.", "Second thing."])
    deepgram.emulator.transcriber = lambda audio, encoding, rate: next(said)
    stream = stt.open_stream()
    caller = _Caller(stream)
    try:
        caller.say(_silence(0.3))
        caller.say(_tone(0.6))
        caller.say(_silence(0.5))  # endpointing: "First thing." is final
        start, eos = caller.say(_tone(0.6))
        caller.say(_silence(0.1))
        assert stream.transcribe(start, eos) == "Second thing."
    finally:
        stream.close()


def test_a_refused_socket_fails_the_utterance_for_the_local_stt(deepgram):
    stt = DeepgramSTT("another-key", DeepgramConfig(base_url=deepgram.base_url))
    stream = stt.open_stream()
    caller = _Caller(stream)
    try:
        start, eos = caller.say(_tone(0.5))
        time.sleep(0.3)
        with pytest.raises(StreamBroken):
            stream.transcribe(start, eos)
    finally:
        stream.close()


def test_a_stalled_finalize_gives_up_when_the_caller_stops_waiting(deepgram, stt):
    deepgram.emulator.stall = True
    stream = stt.open_stream()
    caller = _Caller(stream)
    stop = threading.Event()
    try:
        start, eos = caller.say(_tone(0.5))
        threading.Timer(0.3, stop.set).start()
        began = time.monotonic()
        with pytest.raises(StreamBroken):
            stream.transcribe(start, eos, stop)
        assert time.monotonic() - began < 2.0
    finally:
        stream.close()


def _loud_seconds(audio: bytes) -> float:
    pcm = np.frombuffer(audio, dtype="<i2")[: len(audio) // 2 // FRAME * FRAME]
    rms = np.sqrt((pcm.reshape(-1, FRAME).astype(np.float64) ** 2).mean(axis=1))
    return float((rms > 300).sum()) * FRAME / SAMPLE_RATE


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_call_on_deepgram_keeps_one_socket_and_hears_its_end_of_speech(
    deepgram, monkeypatch, real_corpus
):
    """Two real questions in one call: one socket, the words from Deepgram, its end-of-speech
    events in the end-of-turn decision, and nothing falls back to Whisper."""
    deepgram.emulator.transcriber = lambda audio, encoding, rate: (
        "What is the weather in Paris?" if _loud_seconds(audio) > 1.1 else "Hello world."
    )
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY)
    config = Config()
    config.providers = dataclasses.replace(config.providers, stt="deepgram")
    config.deepgram = dataclasses.replace(
        config.deepgram, base_url=deepgram.base_url, endpointing_ms=100
    )
    gap = np.zeros(3 * SAMPLE_RATE, dtype=np.int16)
    pcm = np.concatenate(
        [
            load_caller_audio(real_corpus / "hello-world.wav"),
            gap,
            load_caller_audio(real_corpus / "weather-question.wav"),
        ]
    )
    result = talk(pcm, config)

    answered = [t for t in result.turns if t["outcome"] == "answered"]
    assert [t["transcript"] for t in answered] == ["Hello world.", "What is the weather in Paris?"]
    # One socket for the call (the other request is the STT's warm-up at load).
    streams = [r for r in deepgram.emulator.requests if "endpointing" in r["query"]]
    assert len(streams) == 1
    assert not any(t.get("failovers") for t in result.turns)
    decisions = [t["end_of_turn"] for t in answered]
    print(decisions)
    assert all(d.get("stt_end") == "speech_final" for d in decisions), decisions


@pytest.fixture
def flux(deepgram) -> DeepgramSTT:
    return DeepgramSTT(KEY, DeepgramConfig(base_url=deepgram.base_url, model="flux-general-en"))


@pytest.mark.parametrize("law", [None, "ulaw"])
def test_flux_streams_turns_and_their_end_of_turn_confidence(deepgram, flux, law):
    deepgram.emulator.transcript = "Book me a table."
    events: list[tuple[str, int, float | None]] = []
    stream = flux.open_stream(lambda *event: events.append(event))
    caller = _Caller(stream, law)
    try:
        start, eos = caller.say(_tone(1.0))
        caller.say(_silence(0.3))
        # No message of ours: the words are there once a TurnInfo reaches the end of speech.
        assert stream.transcribe(start, eos) == "Book me a table."
        caller.say(_silence(0.8))  # the emulated Flux is sure by then: EndOfTurn
        _wait_for(lambda: any(kind == "EndOfTurn" for kind, _, _ in events))
    finally:
        stream.close()
    request = deepgram.emulator.requests[-1]
    assert request["path"] == "/v2/listen"
    assert request["query"]["model"] == "flux-general-en"
    assert request["encoding"] == ("linear16" if law is None else "mulaw")
    assert "ForceEndTurn" not in request.get("controls", [])  # our pauses never end its turn
    # Confidence is low while speaking and rises through the silence after the words.
    during = [c for kind, at, c in events if at <= eos]
    after = [c for kind, at, c in events if at > eos + 100 * 1_000_000]
    assert during and max(during) < 0.2
    assert after and after == sorted(after) and after[-1] >= 0.7


def test_flux_per_utterance_ends_the_turn_and_returns_its_words(deepgram, flux):
    deepgram.emulator.transcript = "Hello there."
    assert flux.transcribe(_tone(0.8)) == "Hello there."
    assert deepgram.emulator.requests[-1]["controls"][:2] == ["ForceEndTurn", "CloseStream"]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_call_on_flux_decides_with_its_end_of_turn_confidence(deepgram, monkeypatch, real_corpus):
    deepgram.emulator.transcript = "What is the weather in Paris?"
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY)
    config = Config()
    config.providers = dataclasses.replace(config.providers, stt="deepgram")
    config.deepgram = dataclasses.replace(
        config.deepgram, base_url=deepgram.base_url, model="flux-general-en"
    )
    result = talk(load_caller_audio(real_corpus / "weather-question.wav"), config)

    (turn,) = [t for t in result.turns if t["outcome"] == "answered"]
    assert turn["transcript"] == "What is the weather in Paris?"
    assert not turn.get("failovers")
    decision = turn["end_of_turn"]
    assert 0 < decision["stt_eot"] < 1 and "stt_eot" in decision["evidence_after_ms"]
