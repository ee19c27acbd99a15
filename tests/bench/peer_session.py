"""The real session both peer tests run: the weather question through the loopback transport.

One scenario and one set of checks for every peer framework, so that Pipecat and LiveKit are
held to exactly the same contract at the transport boundary.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench.agents import BenchAgent
from voice.talk import load_caller_audio
from voice.transports.loopback import LoopbackTransport

CORPUS = Path(__file__).resolve().parents[2].parent / "shared/corpus/real"
END_OF_SPEECH_S = 1.86  # weather-question.wav, from the corpus manifest


def left_tasks() -> list[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return [task for task in asyncio.all_tasks() if task is not current and not task.done()]


async def weather_session(
    peer: BenchAgent,
) -> tuple[list[dict[str, Any]], LoopbackTransport, list[asyncio.Task[Any]], dict[str, Any]]:
    # Generous limits: on a loaded 2-core machine llama.cpp can slow down tenfold, and the
    # transport would otherwise end the session before the answer comes (or while it plays).
    transport = LoopbackTransport(
        load_caller_audio(CORPUS / "weather-question.wav"),
        answer_timeout_ms=30_000,
        max_tail_ms=30_000,
    )
    await peer.start()
    try:
        turns = await peer.run(transport)
        left = left_tasks()
        description = peer.describe()  # type: ignore[attr-defined]
    finally:
        await peer.close()
    return turns, transport, left, description


def check_weather_answer(peer: BenchAgent) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Play the question to `peer` and check what crossed the transport boundary; return the
    turns and what the peer said about itself (threads, end-of-turn model) after the run."""
    turns, transport, left, description = asyncio.run(weather_session(peer))
    assert left == [], f"tasks left running after run(): {left}"
    assert len(turns) >= 1, turns
    transcript = turns[0]["transcript"].lower()
    assert "weather" in transcript and "paris" in transcript, turns
    assert set(turns[0]) >= {"transcript", "reply", "interrupted", "spans"}
    first = transport.first_output_ns
    assert first is not None, "no bot audio reached the transport"
    end_of_speech = transport.media_time_ns(END_OF_SPEECH_S)
    assert first > end_of_speech
    assert len(transport.bot_audio()) >= 0.5 * 16_000
    assert all(len(pcm) == 320 for _, pcm in transport.output)
    print(
        f"\n{peer.name}: TTFA {(first - end_of_speech) / 1e6:.0f} ms (for information only); "
        f"reply: {turns[0]['reply']!r}; spans: {sorted(turns[0]['spans'])}; "
        f"end of turn: {description.get('end_of_turn')}; "
        f"predictions: {turns[0].get('eot_predictions')}"
    )
    threads = description["threads"]
    assert all(threads[c] is not None for c in ("vad", "stt", "llm", "tts")), threads
    return turns, description
