"""Cartesia streaming TTS over one long-lived WebSocket (`cartesia` SDK), one context a turn.

Why a context per turn: Cartesia continues prosody across the transcripts of one context, so
each clause of a reply is pushed into the turn's context with `continue: true` and
`flush: true` (speak what you have now); its audio ends at the matching `flush_done`. The
turn is recognised by the cancel flag its calls carry (the same flag for every clause of a
turn). A new turn closes the previous context; a cancelled turn (barge-in) sends Cartesia's
cancel for its context at once, and leftover messages of a closed context are skipped.

The socket stays open between turns (no handshake on the first clause) and is reopened after
an error. Audio is requested as raw 16-bit PCM at the local voice's sample rate, so the
failover wrapper can switch voices mid-turn without a resampler.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import Any, cast

import numpy as np

from voice.config import CartesiaConfig
from voice.providers.cloud.secrets import redact
from voice.providers.cloud.urls import http_and_ws

_POLL_S = 0.05  # a wait for audio checks the cancel flag this often


class CartesiaError(RuntimeError):
    """Cartesia answered a request with an error message."""


class CartesiaTTS:
    name = "cartesia"

    def __init__(self, api_key: str, settings: CartesiaConfig, sample_rate: int) -> None:
        from cartesia import Cartesia

        self.settings = settings
        self.sample_rate = sample_rate
        http, ws = http_and_ws(settings.base_url) if settings.base_url else (None, None)
        self._client = Cartesia(
            api_key=api_key,
            base_url=http,
            websocket_base_url=ws,
            max_retries=0,
            timeout=settings.read_timeout_ms / 1000,
        )
        self.base_url = str(self._client.base_url)
        self._lock = threading.Lock()
        self._connection: Any = None
        self._context: Any = None
        self._turn: weakref.ref[threading.Event] | None = None
        self._context_id = ""
        self._flushes = 0

    def _connect(self) -> Any:
        if self._connection is None:
            # Passed on to `websockets`' connect, which takes more options than the SDK types.
            options = cast(Any, {"open_timeout": self.settings.connect_timeout_ms / 1000})
            manager = self._client.tts.websocket_connect(websocket_connection_options=options)
            self._connection = manager.enter()
        return self._connection

    def _context_for(self, turn: threading.Event, connection: Any) -> Any:
        if self._context is not None and self._turn is not None and self._turn() is turn:
            return self._context
        self._close_context()
        self._context_id = f"turn-{uuid.uuid4().hex}"
        self._context = connection.context(
            self._context_id,
            model_id=self.settings.model,
            voice={"mode": "id", "id": self.settings.voice},
            output_format={
                "container": "raw",
                "encoding": "pcm_s16le",
                "sample_rate": self.sample_rate,
            },
            language=self.settings.language,
        )
        self._turn = weakref.ref(turn)
        self._flushes = 0
        return self._context

    def _close_context(self) -> None:
        context, self._context, self._turn = self._context, None, None
        if context is not None:
            try:
                context.no_more_inputs()
            except Exception:
                self._reset()

    def _reset(self) -> None:
        connection, self._connection, self._context, self._turn = (
            self._connection,
            None,
            None,
            None,
        )
        if connection is not None:
            try:
                connection.close()
            except Exception:
                pass

    def synthesize(self, text: str, cancel: threading.Event) -> Iterator[np.ndarray]:
        with self._lock:
            try:
                yield from self._synthesize(text, cancel)
            except GeneratorExit:
                raise
            except BaseException:
                self._reset()  # a broken socket or context: start afresh next time
                raise

    def _synthesize(self, text: str, cancel: threading.Event) -> Iterator[np.ndarray]:
        connection = self._connect()
        context = self._context_for(cancel, connection)
        context_id = self._context_id
        # Clauses are joined by Cartesia as they are sent: keep a space between them.
        context.push(text.strip() + " ", continue_=True, flush=True)
        self._flushes += 1
        expected_flush = self._flushes
        carry = b""
        quiet_since = time.monotonic()
        while True:
            if cancel.is_set():
                context.cancel()
                self._context, self._turn = None, None
                return
            try:
                raw = connection.recv_bytes(timeout=_POLL_S)
            except TimeoutError:
                if time.monotonic() - quiet_since > self.settings.read_timeout_ms / 1000:
                    raise
                continue
            quiet_since = time.monotonic()
            event = connection.parse_event(raw)
            if getattr(event, "context_id", None) != context_id:
                continue  # a closed or cancelled context's leftovers
            if event.type == "chunk" and event.data:
                data = carry + (event.audio or b"")
                usable = len(data) - len(data) % 2
                carry = data[usable:]
                if usable:
                    yield np.frombuffer(data[:usable], dtype="<i2").copy()
            elif event.type == "flush_done":
                if getattr(event, "flush_id", expected_flush) >= expected_flush:
                    return
            elif event.type == "done":
                self._context, self._turn = None, None
                return
            elif event.type == "error":
                message = event.message or event.title or ""
                raise CartesiaError(redact(f"Cartesia error {event.status_code}: {message}"))

    def check(self) -> None:
        """An authorized request (doctor): raises on a network error or a refused key."""
        self._client.voices.list(limit=1)
