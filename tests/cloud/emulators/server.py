"""The emulators' shared machinery: an aiohttp app on its own thread, a network delay, stalls.

`NetworkDelay(rtt_ms, handshake_rtts)` models the network the emulator sits behind: a message
takes rtt/2 each way, and opening a connection costs `handshake_rtts` round trips (TCP, TLS and
the HTTP upgrade: 3 by default; the emulators speak plain HTTP, the delay stands in for TLS).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

STALL_CAP_S = 60.0  # a stalled answer gives up after this, so a server always shuts down


@dataclass
class NetworkDelay:
    rtt_ms: float = 0.0
    handshake_rtts: float = 3.0

    @property
    def one_way_s(self) -> float:
        return self.rtt_ms / 2000

    async def handshake(self) -> None:
        if self.rtt_ms:
            await asyncio.sleep(self.handshake_rtts * self.rtt_ms / 1000)


class DelayedSender:
    """Sends each WebSocket message one-way-delay after it was produced, keeping their order."""

    def __init__(self, ws: web.WebSocketResponse, delay: NetworkDelay) -> None:
        self._ws = ws
        self._delay = delay
        self._queue: asyncio.Queue[tuple[float, Any] | None] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    def send_json(self, message: dict[str, Any]) -> None:
        self._queue.put_nowait((time.monotonic() + self._delay.one_way_s, message))

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            due, message = item
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if self._ws.closed:
                return
            await self._ws.send_json(message)

    async def close(self) -> None:
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(self._task, timeout=5)
        except (TimeoutError, ConnectionResetError):
            self._task.cancel()


async def arrived(received_at: float, delay: NetworkDelay) -> None:
    """Wait until a message received at `received_at` would have crossed the network."""
    await asyncio.sleep(max(0.0, received_at + delay.one_way_s - time.monotonic()))


@dataclass
class Emulator:
    """State every emulator shares: the key it accepts, its mode, what it was sent."""

    key: str = "emulator-key"
    delay: NetworkDelay = field(default_factory=NetworkDelay)
    stall: bool = False  # accept, then never answer
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _unstall: asyncio.Event | None = None

    async def stalled(self) -> None:
        """Block like a stalled server (until unstalled or STALL_CAP_S)."""
        self._unstall = self._unstall or asyncio.Event()
        try:
            await asyncio.wait_for(self._unstall.wait(), timeout=STALL_CAP_S)
        except TimeoutError:
            pass

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError


class EmulatorServer:
    """Serves one emulator on 127.0.0.1 (a free port) from a daemon thread with its own loop."""

    def __init__(self, emulator: Emulator, port: int = 0) -> None:
        self.emulator = emulator
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, make: Callable[[], Awaitable[Any]], timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout)

    def start(self) -> EmulatorServer:
        self._thread.start()
        self._call(self._start)
        return self

    async def _start(self) -> None:
        app = web.Application()
        self.emulator.routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            if self.emulator._unstall is not None:
                self._loop.call_soon_threadsafe(self.emulator._unstall.set)
            try:
                self._call(runner.cleanup)
                self._call(self._cancel_tasks)
            except Exception:
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _cancel_tasks(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
