"""Per-turn latency tracing on the monotonic clock, budgets, and OpenTelemetry export."""

from voice.trace.turn_trace import STAGES, Span, TurnTrace

__all__ = ["STAGES", "Span", "TurnTrace"]
