from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from voice.config import STAGES, BudgetConfig
from voice.trace import otel
from voice.trace.budget import judge
from voice.trace.turn_trace import TurnTrace

MS = 1_000_000


def chain_trace(durations: dict[str, int], eos: int = 10_000 * MS) -> TurnTrace:
    """A turn whose stages ran back to back after EoS with the given durations (ms)."""
    trace = TurnTrace(turn_id=1, eos_ns=eos, transcript="hi", reply="hello")
    at = eos
    for name in STAGES:
        trace.add(name, at, at + durations[name] * MS)
        at += durations[name] * MS
    trace.first_audio_ns = at
    trace.outcome = "answered"
    return trace


def test_within_budget():
    trace = chain_trace({s: 50 for s in STAGES})
    verdict = judge(trace, BudgetConfig())
    assert verdict.total_ms == 300 and verdict.within and verdict.overran is None


def test_over_budget_names_the_stage_furthest_over_its_share():
    durations = {
        "endpoint": 200,
        "stt": 90,
        "llm.ttft": 60,
        "llm.clause": 200,
        "tts.ttfb": 80,
        "transport": 20,
    }
    verdict = judge(chain_trace(durations), BudgetConfig())
    assert verdict.total_ms == 650 and not verdict.within
    assert verdict.overran == "llm.clause"
    assert verdict.over_ms == {"stt": 10.0, "llm.clause": 140.0}


def test_json_has_every_stage_on_one_clock():
    record = chain_trace({s: 10 for s in STAGES}).to_dict(origin_ns=9_000 * MS)
    assert record["eos_ms"] == 1000.0 and record["ttfa_ms"] == 60.0
    assert list(record["spans"]) == list(STAGES)
    starts = [record["spans"][s]["start_ms"] for s in STAGES]
    assert starts == sorted(starts)


def test_opentelemetry_spans_nest_under_the_turn_with_the_same_durations():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel_trace.set_tracer_provider(provider)
    trace = chain_trace({s: 10 * (i + 1) for i, s in enumerate(STAGES)})
    otel.export_turn(trace, "session-x")
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"voice.turn", *STAGES}
    root = spans["voice.turn"]
    assert root.attributes["voice.ttfa_ms"] == 210.0
    for i, name in enumerate(STAGES):
        span = spans[name]
        assert span.parent is not None and span.parent.span_id == root.context.span_id
        assert span.end_time - span.start_time == 10 * (i + 1) * MS
