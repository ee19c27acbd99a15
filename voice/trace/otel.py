"""OpenTelemetry export of turn traces.

Spans are emitted after the turn with explicit start/end times converted from the monotonic
clock to wall-clock epoch time (OTel's convention), one parent `voice.turn` span per turn with
the stage spans as children. Without configuration the OTel API is a no-op; with
`trace.otlp_endpoint` (or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`), spans go to an OTLP/HTTP
collector.
"""

from __future__ import annotations

import os
import time

from opentelemetry import trace as otel_trace

from voice.trace.turn_trace import TurnTrace

_configured = False


def configure(otlp_endpoint: str = "") -> None:
    """Install an SDK tracer provider with OTLP export when an endpoint is configured."""
    global _configured
    endpoint = otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    if _configured or not endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": "voice"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    otel_trace.set_tracer_provider(provider)
    _configured = True


def _epoch_offset_ns() -> int:
    return time.time_ns() - time.monotonic_ns()


def export_turn(trace: TurnTrace, session_id: str) -> None:
    tracer = otel_trace.get_tracer("voice")
    offset = _epoch_offset_ns()
    starts = [span.start_ns for span in trace.spans.values()] + [trace.eos_ns]
    ends = [span.end_ns for span in trace.spans.values() if span.end_ns is not None]
    if trace.first_audio_ns is not None:
        ends.append(trace.first_audio_ns)
    turn_span = tracer.start_span(
        "voice.turn",
        start_time=min(starts) + offset,
        attributes={
            "voice.session": session_id,
            "voice.turn": trace.turn_id,
            "voice.outcome": trace.outcome,
            "voice.transcript": trace.transcript,
            "voice.reply": trace.reply,
            **({"voice.ttfa_ms": trace.ttfa_ns / 1e6} if trace.ttfa_ns is not None else {}),
            # the canned failover bridge, from EoS: filler, not counted in TTFA
            **(
                {"voice.bridge_ms": (trace.bridge_ns - trace.eos_ns) / 1e6}
                if trace.bridge_ns is not None
                else {}
            ),
            **(
                {"voice.failovers": [f"{f['stage']}: {f['reason']}" for f in trace.failovers]}
                if trace.failovers
                else {}
            ),
        },
    )
    context = otel_trace.set_span_in_context(turn_span)
    for span in trace.spans.values():
        if span.end_ns is None:
            continue
        child = tracer.start_span(span.name, context=context, start_time=span.start_ns + offset)
        child.end(end_time=span.end_ns + offset)
    turn_span.end(end_time=max(ends, default=trace.eos_ns) + offset)
