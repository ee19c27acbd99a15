"""What the session needs from a transport (WebRTC, SIP, media streams, the in-process loopback).

Transports implement this; the pipeline never imports a transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import numpy as np

from voice.pipeline.frames import AudioFrame


class Transport(Protocol):
    def audio_input(self) -> AsyncIterator[AudioFrame]:
        """Caller audio as 20 ms 16 kHz frames stamped with capture time; ends with the call."""
        ...

    async def send_audio(self, pcm: np.ndarray) -> int:
        """Hand one 20 ms bot frame to the wire; return the monotonic time it was handed over.

        Paces the caller at real time (returns when there is room for the next frame).
        """
        ...

    async def clear_audio(self) -> None:
        """Drop bot audio queued but not yet played (barge-in)."""
        ...
