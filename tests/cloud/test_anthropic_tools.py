"""Delegation as Anthropic tool use: the real SDK against the emulator, the real delegator
against a STAND-IN a2a-sdk harness (tests/delegate/standin_harness.py).

The rules decide first; the words here are ones they and the classifier let through, so the
model (the emulator, told to call `start_task`) is what delegates them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.conftest import KEY
from tests.cloud.emulators import EmulatorServer
from tests.cloud.test_failover import ScriptedLLMDouble, _failover
from tests.delegate.standin_harness import standin_harness
from voice.agent.stages import LLMStage
from voice.config import AnthropicConfig, DelegateConfig
from voice.delegate.decision import decide
from voice.delegate.delegator import Delegator
from voice.delegate.policy import ACKNOWLEDGEMENT
from voice.delegate.tools import NO_TASK, TOOLS
from voice.pipeline.frames import Frame, TokenFrame, TranscriptFrame
from voice.pipeline.turn_scope import TurnScope
from voice.providers.base import DialogueTurn, ToolCall, ToolUse
from voice.providers.cloud.anthropic_llm import TOOLS_NOTE, AnthropicLLM
from voice.providers.failover import FailoverLLM
from voice.providers.worker import ModelWorker
from voice.trace.turn_trace import TurnTrace

pytestmark = pytest.mark.timeout(60)

MISSED = "The dentist on Main Street should hear from us about moving Thursday."
ERRAND = "Call the dentist on Main Street and move the caller's appointment to Thursday."
START = {"name": "start_task", "input": {"request": ERRAND, "kind": "contact"}}


def llm(anthropic: EmulatorServer) -> AnthropicLLM:
    return AnthropicLLM(KEY, AnthropicConfig(base_url=anthropic.base_url), "Be brief.")


def test_the_missed_words_are_left_to_the_model():
    assert decide(MISSED) is None  # else the rules answer and these tests test nothing


def test_the_request_carries_the_tools_and_a_streamed_tool_use_becomes_a_tool_call(anthropic):
    anthropic.emulator.tool_call = START
    anthropic.emulator.tool_text = "Sure thing."
    items = list(
        llm(anthropic).stream_reply_with_tools(
            [DialogueTurn("user", MISSED)], threading.Event(), TOOLS
        )
    )
    assert items[:-1] == ["Sure ", "thing."]
    call = items[-1]
    assert isinstance(call, ToolCall) and call.id.startswith("toolu_")
    assert (call.name, dict(call.input)) == ("start_task", START["input"])
    body = anthropic.emulator.requests[-1]
    assert [t["name"] for t in body["tools"]] == ["start_task", "task_status", "cancel_task"]
    assert body["tools"][0]["input_schema"]["required"] == ["request"]
    assert "errand" in body["tools"][0]["description"]
    # tools come before system in the cache prefix: the last tool and the system are marked
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["tools"][0]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["system"][0]["text"].endswith(TOOLS_NOTE)
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_a_tool_with_no_input_is_called_with_an_empty_one(anthropic):
    anthropic.emulator.tool_call = {"name": "task_status"}
    items = list(
        llm(anthropic).stream_reply_with_tools(
            [DialogueTurn("user", "Where are we with it?")], threading.Event(), TOOLS
        )
    )
    assert len(items) == 1 and isinstance(items[0], ToolCall)
    assert (items[0].name, dict(items[0].input)) == ("task_status", {})


def test_a_plain_reply_sends_no_tools(anthropic):
    anthropic.emulator.tool_call = START
    pieces = list(llm(anthropic).stream_reply([DialogueTurn("user", MISSED)], threading.Event()))
    assert "".join(pieces) == anthropic.emulator.reply
    body = anthropic.emulator.requests[-1]
    assert "tools" not in body and "tool_choice" not in body
    assert not body["system"][0]["text"].endswith(TOOLS_NOTE)


def test_the_local_fallback_answers_in_words_when_the_cloud_stalls(anthropic):
    anthropic.emulator.stall = True
    anthropic.emulator.tool_call = START
    local = ScriptedLLMDouble("local", ["I can't ", "hear the dentist."])
    failover = FailoverLLM(llm(anthropic), local, _failover(first_s=0.3))
    items = list(
        failover.stream_reply_with_tools([DialogueTurn("user", MISSED)], threading.Event(), TOOLS)
    )
    assert items == ["I can't ", "hear the dentist."]
    assert anthropic.emulator.tools[-1]  # the cloud was offered the tools first


# -- the LLM stage, with the delegator's tools ---------------------------------------------


def delegator(harness_url: str, token: str, db: Path) -> Delegator:
    config = DelegateConfig(
        enabled=True, url=harness_url, token=token, db_path=str(db), gap_ms=0, retry_ms=100
    )
    return Delegator(config)


async def reply(
    model: object, agent: Delegator | None, scope: TurnScope, words: str, worker: ModelWorker
) -> str:
    """One turn through the LLM stage: the spoken text."""
    stage = LLMStage(
        model,  # type: ignore[arg-type]
        worker,
        [],
        scope,
        TurnTrace(scope.turn_id, eos_ns=time.monotonic_ns()),
        fixed_reply=None if agent is None else agent.fixed_reply(scope, None),
        tool_use=None if agent is None else agent.tool_use(scope),
    )

    async def frames() -> AsyncIterator[Frame]:
        yield TranscriptFrame(words, time.monotonic_ns())

    out = [f.text async for f in stage.process(frames()) if isinstance(f, TokenFrame)]
    return "".join(out)


async def wait_for(condition: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def run(coro: object) -> object:
    return asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def delegating(tmp_path: Path, duration_s: float = 1.0) -> AsyncIterator[Any]:
    """(LLM worker, stand-in harness, the session's delegator), all closed after."""
    worker = ModelWorker("llm")
    try:
        async with standin_harness(duration_s=duration_s) as harness:
            agent = delegator(harness.url, harness.token, tmp_path / "tasks.db")
            try:
                yield worker, harness, agent
            finally:
                await agent.close()
    finally:
        worker.shutdown()


def test_the_model_delegates_what_the_rules_missed_and_the_task_starts_at_commit(
    anthropic, tmp_path
):
    anthropic.emulator.tool_call = START
    anthropic.emulator.tool_text = "Sure."

    async def main() -> None:
        async with delegating(tmp_path, duration_s=0.3) as (worker, harness, agent):
            scope = TurnScope(1)
            spoken = await reply(llm(anthropic), agent, scope, MISSED, worker)
            # the model's own words, then the policy's acknowledgement
            assert spoken == f"Sure. {ACKNOWLEDGEMENT}"
            await asyncio.sleep(0.2)
            assert harness.requests == []  # not before the turn is committed
            scope.commit(time.monotonic_ns())
            await wait_for(lambda: harness.requests)
            assert harness.requests == [ERRAND]  # the model's restatement of the errand
            [task] = agent.policy.tasks.values()
            assert task.kind == "contact"
            # a later turn asks through the model how it is going: the policy answers
            anthropic.emulator.tool_call = {"name": "task_status"}
            anthropic.emulator.tool_text = ""
            status = await reply(llm(anthropic), agent, TurnScope(2), "And the dentist?", worker)
            assert status.strip().startswith("Your task ")

    run(main())


def test_a_discarded_speculation_starts_no_task(anthropic, tmp_path):
    anthropic.emulator.tool_call = START

    async def main() -> None:
        async with delegating(tmp_path) as (worker, harness, agent):
            scope = TurnScope(1)
            assert (await reply(llm(anthropic), agent, scope, MISSED, worker)).strip() == (
                ACKNOWLEDGEMENT
            )
            await scope.cancel()
            await asyncio.sleep(0.3)
        assert harness.requests == [] and agent.policy.tasks == {}

    run(main())


def test_the_rules_decide_first_without_a_model_call(anthropic, tmp_path):
    anthropic.emulator.tool_call = START

    async def main() -> None:
        async with delegating(tmp_path) as (worker, _harness, agent):
            book = "Book a table for two at an Italian restaurant tomorrow at seven."
            assert await reply(llm(anthropic), agent, TurnScope(1), book, worker) == (
                ACKNOWLEDGEMENT
            )
            assert anthropic.emulator.requests == []

    run(main())


def test_without_delegation_no_tools_are_sent(anthropic):
    anthropic.emulator.tool_call = START

    async def main() -> None:
        worker = ModelWorker("llm")
        spoken = await reply(llm(anthropic), None, TurnScope(1), MISSED, worker)
        assert spoken == anthropic.emulator.reply
        assert "tools" not in anthropic.emulator.requests[-1]
        worker.shutdown()

    run(main())


def test_a_status_call_with_no_task_says_so(anthropic, tmp_path):
    anthropic.emulator.tool_call = {"name": "task_status"}

    async def main() -> None:
        worker = ModelWorker("llm")
        agent = delegator("http://127.0.0.1:9", "unused", tmp_path / "tasks.db")
        spoken = await reply(llm(anthropic), agent, TurnScope(1), "Is it done yet?", worker)
        assert spoken.strip() == NO_TASK
        await agent.close()
        worker.shutdown()

    run(main())


def test_a_model_without_tools_is_not_offered_them():
    """The local model (here its test double) has no `stream_reply_with_tools`: the stage
    asks it for words as ever, whatever tools the turn has."""
    double = ScriptedLLMDouble("local", ["Hello ", "there."])
    handled: list[ToolCall] = []
    tools = ToolUse(TOOLS, lambda call, words: handled.append(call) or "x")

    async def main() -> None:
        worker = ModelWorker("llm")
        scope = TurnScope(1)
        stage = LLMStage(
            double,  # type: ignore[arg-type]
            worker,
            [],
            scope,
            TurnTrace(1, eos_ns=0),
            tool_use=tools,
        )

        async def frames() -> AsyncIterator[Frame]:
            yield TranscriptFrame(MISSED, time.monotonic_ns())

        out = [f.text async for f in stage.process(frames()) if isinstance(f, TokenFrame)]
        assert "".join(out) == "Hello there." and handled == []
        worker.shutdown()

    run(main())


# -- a whole call ----------------------------------------------------------------------------


class WordsSTTDouble:
    """A test double: every utterance is heard as `MISSED`."""

    name = "stt-double"

    def transcribe(self, pcm: object) -> str:
        return MISSED


def test_a_call_hears_the_acknowledgement_then_the_result_and_keeps_only_words(anthropic, tmp_path):
    """Caller audio → (doubles for VAD, STT, TTS) → Claude on the emulator calls start_task →
    the acknowledgement is spoken, the task goes to the harness after the commit, its result
    is spoken at the next gap; the history holds the spoken words, no tool blocks."""
    from tests.test_session import AmplitudeVADDouble, ToneTTSDouble, speech
    from voice.agent.session import VoiceSession
    from voice.config import Config
    from voice.providers.registry import Models
    from voice.transports.loopback import LoopbackTransport

    anthropic.emulator.tool_call = START
    anthropic.emulator.tool_text = "Sure."

    async def main() -> None:
        models = Models(
            vad=AmplitudeVADDouble(),
            stt=WordsSTTDouble(),
            llm=llm(anthropic),
            tts=ToneTTSDouble(),
            vad_worker=ModelWorker("vad"),
            stt_worker=ModelWorker("stt"),
            llm_worker=ModelWorker("llm"),
            tts_worker=ModelWorker("tts"),
        )
        async with standin_harness(duration_s=0.3) as harness:
            agent = delegator(harness.url, harness.token, tmp_path / "tasks.db")
            box: list[VoiceSession] = []

            def finished() -> bool:  # the caller stays on the line until the result was said
                return box[0].idle and agent.quiet and bool(agent.policy.tasks)

            transport = LoopbackTransport(speech(0.2, 0.6, 0.0), finished=finished)
            session = VoiceSession(transport, models, Config(), delegate=agent)
            box.append(session)
            result = await asyncio.wait_for(session.run(), 30)
        for worker in (models.vad_worker, models.stt_worker, models.llm_worker, models.tts_worker):
            worker.shutdown()
        assert harness.requests == [ERRAND]
        answered = [t for t in result.turns if t.outcome == "answered"]
        assert [t.reply for t in answered] == [
            f"Sure. {ACKNOWLEDGEMENT}",
            f"Your task is done: Done: {ERRAND.rstrip('.')}.",
        ]
        assert session.history[:2] == [
            DialogueTurn("user", MISSED),
            DialogueTurn("assistant", f"Sure. {ACKNOWLEDGEMENT}"),
        ]
        # the turn's record says which tool the model called and what the agent said for it
        (call,) = answered[0].to_dict()["tool_calls"]
        assert call["name"] == "start_task" and call["said"] == ACKNOWLEDGEMENT

    run(main())
