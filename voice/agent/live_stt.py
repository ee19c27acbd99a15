"""A call's live STT stream, for an STT provider that streams (Deepgram, docs/cloud.md).

The session feeds it every input frame; the turn's STT stage asks it for an utterance's words
at a pause; the provider's own end-of-speech events become evidence for the end-of-turn
decision on the event loop. With a local STT there is no stream and nothing here runs.
"""

from __future__ import annotations

import asyncio

import numpy as np

from voice.agent.end_of_turn import PauseEvidence
from voice.providers.base import STT, LiveSTT
from voice.providers.worker import ModelWorker


def open_live_stt(stt: STT, worker: ModelWorker, evidence: PauseEvidence) -> LiveSTT | None:
    """The call's stream, or None when the STT provider does not stream. Call on the loop."""
    open_stream = getattr(stt, "open_stream", None)
    if open_stream is None:
        return None
    loop = asyncio.get_running_loop()
    local = getattr(stt, "local", stt)

    def on_end_of_speech(kind: str, media_ns: int, confidence: float | None) -> None:
        # on the stream's receiver thread
        loop.call_soon_threadsafe(evidence.stt_end, kind, media_ns, confidence)

    def run_local(pcm: np.ndarray) -> str:  # a fallback's thread: the decode goes to the worker
        return asyncio.run_coroutine_threadsafe(worker.run(local.transcribe, pcm), loop).result()

    stream: LiveSTT | None = open_stream(on_end_of_speech, run_local)
    return stream
