"""`voice talk`: one conversation with a recording as the caller, through the loopback transport.

The same `VoiceSession` a live call uses; the recording is played in real time and silence is
appended until the agent has answered.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voice.agent.session import VoiceSession
from voice.audio import SAMPLE_RATE, StreamResampler, read_wav, to_internal
from voice.config import Config
from voice.errors import AudioInputError
from voice.providers.base import TTS
from voice.providers.registry import Models, load_models
from voice.trace.turn_trace import TurnTrace
from voice.transports.loopback import LoopbackTransport

DEMO_QUESTION = "What is the weather like in London today?"
SILENCE_PEAK = 32  # about -60 dBFS: below this nothing in the file can be speech


@dataclass
class TalkResult:
    turns: list[dict[str, Any]]
    bot_audio: np.ndarray
    discarded: int
    traces: list[TurnTrace] = field(default_factory=list)


def load_caller_audio(path: str | Path) -> np.ndarray:
    """A WAV file as 16 kHz mono int16, refusing files that hold nothing to answer."""
    pcm = to_internal(read_wav(path))
    if len(pcm) < SAMPLE_RATE // 10:
        raise AudioInputError(f"{path}: too short to hold speech ({len(pcm) / SAMPLE_RATE:.2f} s)")
    if int(np.max(np.abs(pcm.astype(np.int32)))) <= SILENCE_PEAK:
        raise AudioInputError(f"{path}: the file is pure silence; there is nothing to answer")
    return pcm


def demo_question(models: Models) -> np.ndarray:
    """A short spoken question made with the local TTS, so `--demo` needs no file."""
    return spoken(models.tts, DEMO_QUESTION)


def spoken(tts: TTS, text: str) -> np.ndarray:
    """`text` in the local TTS's voice at 16 kHz, after a quarter second of silence."""
    resampler = StreamResampler(tts.sample_rate)
    frames: list[np.ndarray] = [np.zeros(SAMPLE_RATE // 4, dtype=np.int16)]
    for chunk in tts.synthesize(text, threading.Event()):
        frames.extend(resampler.push(chunk))
    frames.extend(resampler.push(np.zeros(0, dtype=np.int16), last=True))
    return np.concatenate(frames)


async def talk_async(
    pcm: np.ndarray,
    config: Config,
    models: Models | None = None,
    on_turn: Callable[[dict[str, Any]], None] | None = None,
) -> TalkResult:
    models = models or load_models(config)
    session_box: list[VoiceSession] = []
    transport = LoopbackTransport(
        pcm,
        finished=lambda: bool(session_box) and session_box[0].idle and delegation_quiet(),
        min_tail_ms=config.turn.silence_ms + 300,
        max_tail_ms=120_000 if config.delegate.enabled else 15_000,  # a delegated task's time
    )
    session = VoiceSession(
        transport,
        models,
        config,
        on_turn=(lambda trace: on_turn(session.turn_record(trace))) if on_turn else None,
    )
    session_box.append(session)

    def delegation_quiet() -> bool:  # a delegated task's outcome is still to be spoken
        return session.delegate is None or session.delegate.quiet

    result = await session.run()
    return TalkResult(
        turns=[session.turn_record(trace) for trace in result.turns],
        bot_audio=transport.bot_audio(),
        discarded=result.discarded,
        traces=result.turns,
    )


def talk(
    pcm: np.ndarray,
    config: Config,
    models: Models | None = None,
    on_turn: Callable[[dict[str, Any]], None] | None = None,
) -> TalkResult:
    return asyncio.run(talk_async(pcm, config, models, on_turn))
