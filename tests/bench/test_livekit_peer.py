"""LiveKit Agents as a benchmark peer, through our loopback transport.

The fast tests check our LiveKit audio I/O against the contract LiveKit's session relies on
(one playback report per segment, interrupted when cleared; 20 ms 16 kHz frames to the
transport). The slow tests play the real weather question in real time to a LiveKit
`AgentSession` (stock: LiveKit's plugins, the LLM behind our llama.cpp server;
same_providers: our providers as LiveKit plugins) and check what crosses the transport
boundary. Speed is printed, not asserted.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from bench.peers.livekit_eot import RecordingTurnDetector
from bench.peers.livekit_io import TransportAudioInput, TransportAudioOutput, to_rtc_frame
from bench.peers.livekit_peer import LiveKitPeer
from tests.bench.peer_session import CORPUS, check_weather_answer, left_tasks
from voice.config import load_config
from voice.talk import load_caller_audio
from voice.transports.loopback import LoopbackTransport


def _tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)


def test_peer_variants_and_names() -> None:
    with pytest.raises(ValueError, match="llm_base_url"):
        LiveKitPeer("stock", load_config())
    assert LiveKitPeer("same_providers", load_config()).name == "livekit_same_providers"
    assert LiveKitPeer("stock", load_config(), "http://127.0.0.1:1/v1").name == "livekit"
    vad_only = LiveKitPeer("same_providers", load_config(), end_of_turn="vad")
    assert vad_only.name == "livekit_same_providers_vad"
    stock_vad = LiveKitPeer("stock", load_config(), "http://127.0.0.1:1/v1", end_of_turn="vad")
    assert stock_vad.name == "livekit_vad"
    assert vad_only.describe()["end_of_turn"]["model"] == "vad"


def test_end_of_turn_model_is_pinned_whatever_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LiveKit's own default turns to its cloud model when these are set; ours never does."""
    monkeypatch.setenv("LIVEKIT_DEV_MODE", "1")
    monkeypatch.setenv("LIVEKIT_REMOTE_EOT_URL", "wss://example.invalid")
    assert RecordingTurnDetector().model == "turn-detector-v1-mini"


def test_audio_input_yields_the_transport_frames_then_ends() -> None:
    async def scenario() -> tuple[list[Any], bool, list[asyncio.Task[Any]]]:
        pcm = _tone(0.1, 16_000)
        transport = LoopbackTransport(pcm, finished=lambda: True, min_tail_ms=0)
        audio_in = TransportAudioInput(transport)
        frames = [frame async for frame in audio_in]
        await audio_in.aclose()
        return frames, audio_in.ended.is_set(), left_tasks()

    frames, ended, left = asyncio.run(scenario())
    assert ended and left == []
    assert len(frames) == 5
    assert all(f.sample_rate == 16_000 and f.samples_per_channel == 320 for f in frames)
    got = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
    assert np.array_equal(got, _tone(0.1, 16_000))


def test_audio_output_reports_each_segment_once() -> None:
    """A played segment finishes uninterrupted; a cleared one at once, as interrupted."""

    async def scenario() -> tuple[list[Any], list[Any], LoopbackTransport, list[Any]]:
        transport = LoopbackTransport(np.zeros(320, dtype=np.int16))
        out = TransportAudioOutput(transport)
        started: list[Any] = []
        finished: list[Any] = []
        out.on("playback_started", started.append)
        out.on("playback_finished", finished.append)

        for chunk in np.array_split(_tone(0.3, 22_050), 3):  # Piper's rate, odd chunk sizes
            await out.capture_frame(to_rtc_frame(chunk, 22_050))
        out.flush()
        await asyncio.wait_for(out.wait_for_playout(), timeout=5)

        for chunk in np.array_split(_tone(2.0, 22_050), 10):
            await out.capture_frame(to_rtc_frame(chunk, 22_050))
        out.flush()
        await asyncio.sleep(0.2)
        out.clear_buffer()
        await asyncio.wait_for(out.wait_for_playout(), timeout=1)
        await out.aclose()
        return started, finished, transport, left_tasks()

    started, finished, transport, left = asyncio.run(scenario())
    assert left == []
    assert len(started) == 2
    assert [ev.interrupted for ev in finished] == [False, True]
    assert finished[0].playback_position == pytest.approx(0.3, abs=0.021)
    assert 0.1 < finished[1].playback_position < 1.0
    assert all(len(pcm) == 320 for _, pcm in transport.output)
    assert len(transport.output) < 15 + 50  # the cleared rest of the 2 s segment never went out


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["stock", "same_providers"])
def test_livekit_answers_the_weather_question_through_the_loopback(
    variant: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("llm_url") if variant == "stock" else None
    peer = LiveKitPeer(variant, load_config(), url)  # type: ignore[arg-type]

    turns, description = check_weather_answer(peer)
    assert description["end_of_turn"]["model"] == "turn-detector-v1-mini"
    predictions = turns[0]["eot_predictions"]
    assert predictions and all(0.0 <= p["p"] <= 1.0 for p in predictions), turns[0]
    if variant == "stock":  # LiveKit's stock Piper is pinned to our TTS thread count
        assert description["threads"]["tts"] == load_config().tts.threads


@pytest.mark.slow
def test_livekit_vad_only_answers_without_an_end_of_turn_model() -> None:
    peer = LiveKitPeer("same_providers", load_config(), end_of_turn="vad")

    turns, description = check_weather_answer(peer)
    assert description["end_of_turn"]["model"] == "vad"
    assert turns[0]["eot_predictions"] == []


@pytest.mark.slow
def test_livekit_finishes_a_committed_reply_after_the_input_ends() -> None:
    """The bench ends every agent's input the same way; a reply committed by then is played out
    (as ours and Pipecat's are), not dropped by closing the session."""
    peer = LiveKitPeer("same_providers", load_config(), end_of_turn="vad")
    transport: LoopbackTransport | None = None
    output_when_ended: list[int] = []

    def committed() -> bool:
        """End the input as soon as LiveKit has committed the user's turn."""
        log = peer.log
        if log is None or not any(item.role == "user" for item in log.items):
            return False
        assert transport is not None
        output_when_ended.append(len(transport.output))
        return True

    async def scenario() -> list[dict[str, Any]]:
        nonlocal transport
        transport = LoopbackTransport(
            load_caller_audio(CORPUS / "weather-question.wav"),
            finished=committed,
            min_tail_ms=0,
            max_tail_ms=30_000,
        )
        await peer.start()
        try:
            return await peer.run(transport)
        finally:
            await peer.close()

    turns = asyncio.run(scenario())
    assert transport is not None
    assert output_when_ended == [0], "the reply had started before the input ended: no test"
    assert len(transport.bot_audio()) >= 0.5 * 16_000, turns
    assert turns and "paris" in turns[0]["transcript"].lower()
