"""The agents a benchmark can drive: ours, and (in `bench.peers`) Pipecat and LiveKit Agents.

Every agent runs one session per case against a `LoopbackTransport`, the same measurement
boundary for all, and reports per bot turn what it knows: transcript, reply, whether it was
interrupted, and stage spans on the monotonic clock where the framework exposes them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Protocol

from bench.fairness import system_prompt
from voice.agent.session import VoiceSession
from voice.config import Config
from voice.providers.llm_profiles import prompt_name
from voice.providers.registry import Models, load_models
from voice.trace.turn_trace import TurnTrace
from voice.transports.loopback import LoopbackTransport


class BenchAgent(Protocol):
    name: str

    async def start(self) -> None: ...

    async def run(self, transport: LoopbackTransport) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...


def turn_report(trace: TurnTrace) -> dict[str, Any]:
    return {
        "transcript": trace.transcript,
        "reply": trace.reply,
        "interrupted": trace.outcome == "interrupted",
        "outcome": trace.outcome,
        "first_audio_ns": trace.first_audio_ns,
        # Barge-in: how long playout was held for speech over the bot, how often it played on.
        "paused_ms": trace.paused_ms,
        "resumed": trace.resumed,
        "bargein": [dict(d) for d in trace.bargein],
        "spans": {
            name: {"start_ns": span.start_ns, "end_ns": span.end_ns}
            for name, span in trace.spans.items()
        },
        "eot_predictions": _eot_predictions(trace),
    }


def _eot_predictions(trace: TurnTrace) -> list[dict[str, Any]]:
    """Our end-of-turn decision as a prediction at the commit: P(finished) and its parts (the
    Smart Turn probability among them), as the peers report their models' predictions."""
    decision = getattr(trace, "end_of_turn", None)
    endpoint = trace.spans.get("endpoint")
    if not isinstance(decision, dict) or decision.get("p_finished") is None or endpoint is None:
        return []
    parts = {k: v for k, v in decision.items() if isinstance(v, int | float | str)}
    return [{**parts, "at_ns": endpoint.end_ns, "p": decision["p_finished"]}]


class OurAgent:
    name = "ours"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.models: Models | None = None

    async def start(self) -> None:
        self.models = await asyncio.to_thread(load_models, self.config)

    async def run(self, transport: LoopbackTransport) -> list[dict[str, Any]]:
        if self.models is None:
            await self.start()
        assert self.models is not None
        session = VoiceSession(transport, self.models, self.config)
        result = await session.run()
        return [turn_report(trace) for trace in result.turns]

    def describe(self) -> dict[str, Any]:
        """Threads per component (as the loaded models report them) and the end-of-turn policy."""
        config = self.config
        models = self.models
        threads: dict[str, int | None] = {
            "vad": config.vad.threads,
            "stt": config.stt.threads,
            "llm": config.llm.threads,
            "tts": config.tts.threads,
        }
        if models is not None:
            for name in threads:
                threads[name] = getattr(getattr(models, name), "threads", threads[name])
        detector = str(getattr(config.turn, "detector", "silence"))
        smart_turn = getattr(models, "smart_turn", None) if models is not None else None
        threads["end_of_turn"] = getattr(smart_turn, "threads", None)
        return {
            "threads": threads,
            "end_of_turn": {
                "model": f"voice.turn_taking ({detector})",
                "version": getattr(smart_turn, "name", None),
                "settings": dataclasses.asdict(config.turn),
            },
            "system_prompt": system_prompt(config),
            # what shapes the replies, which the peers do not share (docs/replies.md)
            "llm": {
                "profile": config.llm.profile,
                "prompt": prompt_name(config.llm),
                "honest_replies": config.llm.honest_replies,
            },
            "warm_up": "models warmed once at load (voice.providers.registry); the LLM prefix "
            "at the start of every session (VoiceSession.run)",
        }

    async def close(self) -> None:
        return None
