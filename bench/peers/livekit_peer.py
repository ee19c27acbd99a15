"""LiveKit Agents 1.8 as a benchmark peer, driven through our loopback transport.

Each `run()` is one LiveKit `AgentSession` with no server and no room: its audio input is the
transport's `audio_input()` and its audio output hands every bot frame to `send_audio()` (see
`livekit_io`), so LiveKit is measured at the same boundary, on the same clock, as our agent.

Two variants:

- `stock`: LiveKit's components as its users get them: Silero VAD from `livekit-plugins-silero`
  with its defaults, LiveKit's default end of turn (below), the OpenAI plugin's LLM
  against our model behind a local OpenAI-compatible server, and plain faster-whisper and Piper
  plugins (`livekit_stock`), since LiveKit has no local ones.
- `same_providers`: LiveKit's VAD and end of turn as in stock, but our own STT, LLM and TTS on
  our model workers (`livekit_same`), which isolates framework overhead from provider choice.

End of turn: LiveKit's audio end-of-turn model, pinned to the local `turn-detector-v1-mini`
(`livekit_eot`: never chosen by an environment variable; its predictions are recorded per
turn). `end_of_turn="vad"` asks for LiveKit's VAD-only endpointing instead (its peer name gets
a `_vad` suffix; `--compare livekit_vad`).

Warm-up follows the bench's one policy (`bench.agents.WARM_UP_POLICY`): STT, TTS and the
end-of-turn model once in `start()`, the LLM's prompt prefix before every session. Every
session gets the configured system prompt as the agent's instructions.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from livekit.agents import Agent, AgentSession, llm, stt, tts, vad
from livekit.agents.voice.events import CloseEvent
from livekit.plugins import openai, silero

from bench.fairness import system_prompt
from bench.peers.livekit_eot import (
    EndOfTurn,
    RecordingTurnDetector,
    describe_end_of_turn,
    load_v1_mini,
)
from bench.peers.livekit_io import TransportAudioInput, TransportAudioOutput
from bench.peers.livekit_same import ModelsLLM, ModelsSTT, ModelsTTS
from bench.peers.livekit_stock import FasterWhisperSTT, PiperTTS
from bench.peers.livekit_turns import TurnLog
from bench.peers.llm_server import MODEL_ALIAS, TOP_P, warm_up
from voice.config import Config
from voice.providers import model_files
from voice.providers.registry import Models, load_models
from voice.transports.loopback import LoopbackTransport

Variant = Literal["stock", "same_providers"]


class LiveKitPeer:
    def __init__(
        self,
        variant: Variant,
        config: Config,
        llm_base_url: str | None = None,
        *,
        end_of_turn: EndOfTurn = "audio_model",
    ) -> None:
        if variant not in ("stock", "same_providers"):
            raise ValueError(f"unknown LiveKit peer variant {variant!r}")
        if end_of_turn not in ("vad", "audio_model"):
            raise ValueError(f"unknown end-of-turn mode {end_of_turn!r}")
        if variant == "stock" and not llm_base_url:
            raise ValueError("the stock LiveKit peer needs llm_base_url (an OpenAI-compatible URL)")
        self.variant: Variant = variant
        self.config = config
        self.llm_base_url = llm_base_url
        self.end_of_turn: EndOfTurn = end_of_turn
        name = "livekit" if variant == "stock" else "livekit_same_providers"
        self.name = name if end_of_turn == "audio_model" else f"{name}_vad"
        self._vad: vad.VAD | None = None
        self._stt: stt.STT | None = None
        self._tts: tts.TTS | None = None
        self._models: Models | None = None
        self._turn_detector: RecordingTurnDetector | None = None
        self._eot_threads_started: int | None = None
        self.log: TurnLog | None = None  # the running (or last) session's turn log

    async def start(self) -> None:
        """Load every model once and warm it once; each `run()` reuses them."""
        if self._vad is not None:
            return
        if self.variant == "stock":
            whisper_dir = model_files.whisper_dir()
            onnx_path, config_path = model_files.piper_voice_paths()
            whisper = await asyncio.to_thread(
                FasterWhisperSTT, whisper_dir, cpu_threads=self.config.stt.threads
            )
            piper = await asyncio.to_thread(
                PiperTTS, onnx_path, config_path, threads=self.config.tts.threads
            )
            # first inferences pay for set-up, as ours do when they load (registry._warm_up)
            await asyncio.to_thread(whisper.warm_up)
            await asyncio.to_thread(piper.warm_up)
            self._stt, self._tts = whisper, piper
        else:
            models = self._models = await asyncio.to_thread(load_models, self.config)
            self._stt = ModelsSTT(models)
            self._tts = ModelsTTS(models)
        if self.end_of_turn == "audio_model":
            self._turn_detector, self._eot_threads_started = await asyncio.to_thread(load_v1_mini)
        # Silero's ONNX model ships inside livekit-plugins-silero; one intra-op thread.
        self._vad = await asyncio.to_thread(silero.VAD.load)

    def describe(self) -> dict[str, Any]:
        """Threads per component, the end-of-turn model that runs, and the warm-up done."""
        config = self.config
        tts_threads = getattr(self._tts, "threads", None) if self.variant == "stock" else None
        return {
            "threads": {
                "vad": 1,  # livekit-plugins-silero fixes one intra-op thread
                "end_of_turn": (
                    None
                    if self.end_of_turn == "vad"
                    else f"native, not configurable ({self._eot_threads_started} started)"
                ),
                "stt": config.stt.threads,
                "llm": config.llm.threads,  # the llama.cpp server, or our provider
                "tts": tts_threads or config.tts.threads,
            },
            "end_of_turn": describe_end_of_turn(self.end_of_turn, self._turn_detector),
            "system_prompt": system_prompt(config),
            "warm_up": "STT, TTS and the end-of-turn model once at start; LLM prefix before "
            "every session",
        }

    def _new_llm(self) -> llm.LLM:
        """A fresh LLM client per session: the OpenAI client's HTTP pool belongs to one loop."""
        if self.variant == "stock":
            assert self.llm_base_url is not None
            return openai.LLM(
                model=MODEL_ALIAS,
                base_url=self.llm_base_url,
                api_key="x",
                temperature=self.config.llm.temperature,
                top_p=TOP_P,
                # llama.cpp's server ignores `max_completion_tokens`; this is the cap it reads
                extra_body={"max_tokens": self.config.llm.max_tokens},
            )
        assert self._models is not None
        return ModelsLLM(self._models)

    async def _warm_up_llm(self) -> None:
        """Evaluate the LLM's fixed prompt prefix before the session, as our agent's session
        does, so no variant pays for it in its first reply (nor finds another's cache)."""
        if self.variant == "stock":
            assert self.llm_base_url is not None
            await asyncio.to_thread(warm_up, self.llm_base_url, system_prompt(self.config))
        else:
            assert self._models is not None
            await self._models.llm_worker.run(self._models.llm.warm_up, [])

    async def run(self, transport: LoopbackTransport) -> list[dict[str, Any]]:
        """One LiveKit session over the transport, closed once the transport's input ends."""
        await self.start()
        assert self._vad is not None and self._stt is not None and self._tts is not None
        await self._warm_up_llm()
        audio_in = TransportAudioInput(transport)
        audio_out = TransportAudioOutput(transport)
        model = self._new_llm()
        detector = self._turn_detector
        if detector is not None:
            detector.predictions = []
        session: AgentSession = AgentSession(
            vad=self._vad,
            stt=self._stt,
            llm=model,
            tts=self._tts,
            turn_handling={"turn_detection": "vad" if detector is None else detector},
        )
        log = self.log = TurnLog()
        log.attach(session)
        closes: list[CloseEvent] = []
        closed = asyncio.Event()

        def on_close(event: CloseEvent) -> None:
            closes.append(event)
            closed.set()

        session.on("close", on_close)
        session.input.audio = audio_in
        session.output.audio = audio_out
        try:
            await session.start(Agent(instructions=system_prompt(self.config)), record=False)
            await _first_of(audio_in.ended, closed)
            if not closed.is_set():
                # The call is over. Like ours and Pipecat's EndFrame, finish the replies already
                # scheduled (a plain `aclose()` interrupts them); an uncommitted turn is dropped.
                session.shutdown(drain=True)
                await closed.wait()
        finally:
            ended_by_input = audio_in.ended.is_set()
            await session.aclose()  # a no-op once the drained close has run
            await audio_out.aclose()
            with contextlib.suppress(RuntimeError):  # the generator may still be running
                await audio_in.aclose()
            await model.aclose()
        failure = next((c.error for c in closes if c.error is not None), None)
        if failure is not None and not ended_by_input:
            raise RuntimeError(f"the LiveKit session closed on an error: {failure.error!r}")
        predictions = list(detector.predictions) if detector is not None else []
        return log.turns(audio_out.segment_starts, predictions)

    async def close(self) -> None:
        for component in (self._stt, self._tts, self._vad):
            aclose = getattr(component, "aclose", None)
            if aclose is not None:
                await aclose()
        self._vad = self._stt = self._tts = None
        self._models = None
        self._turn_detector = None


async def _first_of(*flags: asyncio.Event) -> None:
    """Wait until any of the events is set."""
    waiters = [asyncio.ensure_future(flag.wait()) for flag in flags]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
