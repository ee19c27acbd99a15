"""Pipecat 1.14 as a benchmark peer of our agent, at the same transport boundary.

Each `run()` is one Pipecat session, built the way a Pipecat bot builds one per call:

    LoopbackInput -> STT -> user aggregator (Silero VAD + default turn strategy)
        -> LLM -> TTS -> LoopbackOutput -> assistant aggregator

run by a `PipelineWorker` on a `WorkerRunner`. The input is fed from
`LoopbackTransport.audio_input()` as the frames arrive; the output hands each bot audio frame to
`LoopbackTransport.send_audio()` when Pipecat writes it (see `pipecat_transport`). When the input
ends the session is ended with an `EndFrame`, which lets Pipecat finish what it has queued, and
`run()` returns once the runner has stopped every task it started.

Variants (see `pipecat_stock` and `pipecat_services`):
- `stock`: Pipecat's own Silero VAD, default user-turn strategy (Smart Turn v3, local),
  `WhisperSTTService`, `OpenAILLMService` on our GGUF behind `llm_server`, `PiperTTSService`.
- `same_providers`: the same Pipecat VAD and turn strategy, with our STT/LLM/TTS providers
  wrapped as Pipecat services, which isolates the framework's overhead from provider choices.

Either can run with `end_of_turn="vad"` (Pipecat's VAD-only stop strategy instead of Smart
Turn; the peer's name gets a `_vad` suffix), see `pipecat_eot`.

Warm-up follows the bench's one policy (`bench.agents.WARM_UP_POLICY`): models loaded once
per peer are warmed once in `start()`; the LLM's prompt prefix before every session.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.clocks.system_clock import SystemClock
from pipecat.frames.frames import EndFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    AssistantTurnStoppedMessage,
    LLMAssistantAggregator,
    LLMContextAggregatorPair,
    LLMUserAggregator,
    LLMUserAggregatorParams,
    UserTurnStoppedMessage,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.workers.runner import WorkerRunner

from bench.fairness import system_prompt
from bench.peers.llm_server import warm_up
from bench.peers.pipecat_eot import (
    EndOfTurn,
    SmartTurnModel,
    describe_end_of_turn,
    user_turn_strategies,
)
from bench.peers.pipecat_services import OurLLMService, OurSTTService, OurTTSService
from bench.peers.pipecat_stock import StockModels, stock_llm, stock_stt, stock_tts
from bench.peers.pipecat_transport import LoopbackInput, LoopbackPipecatTransport
from bench.peers.pipecat_turns import TurnRecorder
from voice.audio import SAMPLE_RATE
from voice.config import Config
from voice.providers.registry import Models, load_models
from voice.transports.loopback import LoopbackTransport

Variant = Literal["stock", "same_providers"]

START_TIMEOUT_S = 60.0  # Pipecat's own setup and start timeouts are 20 s each
END_TIMEOUT_S = 60.0  # after the input ends: what is queued is still played, in real time


class PipecatPeer:
    """A `BenchAgent`: Pipecat sessions over our loopback transport, models loaded once."""

    def __init__(
        self,
        variant: Variant,
        config: Config,
        llm_base_url: str | None = None,
        *,
        end_of_turn: EndOfTurn = "smart_turn",
    ) -> None:
        if variant not in ("stock", "same_providers"):
            raise ValueError(f"unknown Pipecat variant {variant!r}")
        if end_of_turn not in ("smart_turn", "vad"):
            raise ValueError(f"unknown end-of-turn mode {end_of_turn!r}")
        if variant == "stock" and not llm_base_url:
            raise ValueError("the stock Pipecat variant needs llm_base_url (see llm_server)")
        self.variant = variant
        self.config = config
        self.llm_base_url = llm_base_url
        self.end_of_turn: EndOfTurn = end_of_turn
        name = "pipecat" if variant == "stock" else "pipecat_same_providers"
        self.name = name if end_of_turn == "smart_turn" else f"{name}_vad"
        self._stock: StockModels | None = None
        self._models: Models | None = None
        self._smart_turn: SmartTurnModel | None = None

    async def start(self) -> None:
        """Load (and warm) the models once, off the event loop; every session reuses them."""
        if self.variant == "stock":
            if self._stock is None:
                self._stock = await asyncio.to_thread(StockModels, self.config)
        elif self._models is None:
            self._models = await asyncio.to_thread(load_models, self.config)
        if self.end_of_turn == "smart_turn" and self._smart_turn is None:
            self._smart_turn = await asyncio.to_thread(SmartTurnModel)

    def describe(self) -> dict[str, Any]:
        """Threads per component, the end-of-turn model that runs, and the warm-up done."""
        config = self.config
        threads: dict[str, Any] = {
            "vad": 1,  # Pipecat's SileroOnnxModel fixes one intra-op thread
            "end_of_turn": self._smart_turn.threads if self._smart_turn else None,
            "stt": config.stt.threads,
            "llm": config.llm.threads,  # the llama.cpp server, or our provider
            "tts": config.tts.threads,
        }
        if self._stock is not None:
            threads.update(self._stock.threads())
        return {
            "threads": threads,
            "end_of_turn": describe_end_of_turn(self.end_of_turn, self._smart_turn),
            "system_prompt": system_prompt(config),
            "warm_up": "STT, TTS and Smart Turn once at start; LLM prefix before every session",
        }

    async def close(self) -> None:
        """Nothing to release: the LLM server belongs to the caller, the models to the process."""
        self._stock = None
        self._smart_turn = None

    def _services(self) -> tuple[FrameProcessor, FrameProcessor, FrameProcessor]:
        """This session's STT, LLM and TTS services (fresh per session, models shared)."""
        if self.variant == "stock":
            assert self._stock is not None and self.llm_base_url is not None
            return (
                stock_stt(self._stock),
                stock_llm(self.config, self.llm_base_url),
                stock_tts(self._stock),
            )
        assert self._models is not None
        models = self._models
        return OurSTTService(models), OurLLMService(models), OurTTSService(models)

    async def _warm_up(self) -> None:
        """Evaluate the LLM's fixed prompt prefix before the session, as our agent's session
        does, so no variant pays for it in its first reply."""
        if self.variant == "stock":
            assert self.llm_base_url is not None
            await asyncio.to_thread(warm_up, self.llm_base_url, system_prompt(self.config))
        else:
            assert self._models is not None
            await self._models.llm_worker.run(self._models.llm.warm_up, [])

    async def run(self, transport: LoopbackTransport) -> list[dict[str, Any]]:
        """One session over `transport`; one record per bot turn."""
        await self.start()
        await self._warm_up()
        clock = SystemClock()
        recorder = TurnRecorder(clock)
        loopback = LoopbackPipecatTransport(transport, on_frame=recorder.audio_handed)
        stt, llm, tts = self._services()
        user, assistant = LLMContextAggregatorPair(
            LLMContext(),
            user_params=LLMUserAggregatorParams(
                vad_analyzer=SileroVADAnalyzer(),
                user_turn_strategies=user_turn_strategies(self.end_of_turn, self._smart_turn),
            ),
        )
        _record_turns(user, assistant, recorder)
        pipeline = Pipeline([loopback.input(), stt, user, llm, tts, loopback.output(), assistant])
        worker = PipelineWorker(
            pipeline,
            params=PipelineParams(
                audio_in_sample_rate=SAMPLE_RATE, audio_out_sample_rate=SAMPLE_RATE
            ),
            clock=clock,
            observers=[recorder],
            idle_timeout_secs=None,  # the session ends when the input does
        )
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        running = asyncio.create_task(runner.run(), name=f"{self.name}-runner")
        try:
            await _until_ready(loopback.input(), running)
            frames = transport.audio_input()
            try:
                async for frame in frames:
                    if running.done():
                        break
                    await loopback.input().feed(frame.pcm)
            finally:
                # closed here, not by the garbage collector in a task of its own
                aclose = getattr(frames, "aclose", None)
                if aclose is not None:
                    await aclose()
            if not running.done():
                await worker.queue_frame(EndFrame())
            await asyncio.wait_for(asyncio.shield(running), END_TIMEOUT_S)
        finally:
            if not running.done():
                await runner.cancel(reason="benchmark session aborted")
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await running
        running.result()  # a failure inside the runner is the session's failure
        return recorder.turns


def _record_turns(
    user: LLMUserAggregator, assistant: LLMAssistantAggregator, recorder: TurnRecorder
) -> None:
    """Pass the aggregators' turn events (what Pipecat puts in the context) to the recorder."""

    @user.event_handler("on_user_turn_stopped")
    async def on_user_turn_stopped(
        aggregator: LLMUserAggregator, strategy: Any, message: UserTurnStoppedMessage
    ) -> None:
        recorder.user_turn(message.content)

    @assistant.event_handler("on_assistant_turn_stopped")
    async def on_assistant_turn_stopped(
        aggregator: LLMAssistantAggregator, message: AssistantTurnStoppedMessage
    ) -> None:
        recorder.bot_turn(message.content, message.interrupted)


async def _until_ready(pipeline_input: LoopbackInput, running: asyncio.Task[None]) -> None:
    """Wait until Pipecat has started the input transport (or the runner has failed)."""
    ready = asyncio.create_task(pipeline_input.ready.wait())
    try:
        done, _ = await asyncio.wait(
            {ready, running}, timeout=START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        ready.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ready
    if running in done:
        running.result()
        raise RuntimeError("the Pipecat pipeline stopped before its transport started")
    if not done:
        raise TimeoutError(f"the Pipecat pipeline did not start within {START_TIMEOUT_S:.0f} s")
