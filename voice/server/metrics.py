"""Prometheus metrics of the server's calls (`/metrics`), on a registry of its own so that
several servers in one process (tests) never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from voice.config import STAGES
from voice.trace.turn_trace import TurnTrace

LATENCY_BUCKETS_S = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ttfa = Histogram(
            "voice_ttfa_seconds",
            "End of user speech to the first bot audio frame handed to the call",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.stage = Histogram(
            "voice_stage_seconds",
            "Duration of each pipeline stage of a turn",
            ["stage"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.turns = Counter(
            "voice_turns", "Committed bot turns by outcome", ["outcome"], registry=self.registry
        )
        self.interruptions = Counter(
            "voice_interruptions", "Bot turns cut short by the caller", registry=self.registry
        )
        self.sessions = Gauge("voice_active_sessions", "Calls in progress", registry=self.registry)
        self.calls = Counter(
            "voice_calls",
            "Calls answered, by how they came in (webrtc, sip, media_stream)",
            ["transport"],
            registry=self.registry,
        )
        self.errors = Counter(
            "voice_errors",
            "Refused offers and failed calls or turns",
            ["kind"],
            registry=self.registry,
        )

    def call_started(self, transport: str) -> None:
        """A call was answered: counted, and in progress until `call_ended`. Every transport
        reports through these two, so the gauge counts the calls of all of them."""
        self.calls.labels(transport).inc()
        self.sessions.inc()

    def call_ended(self) -> None:
        self.sessions.dec()

    def observe_turn(self, trace: TurnTrace) -> None:
        self.turns.labels(trace.outcome).inc()
        if trace.outcome == "interrupted":
            self.interruptions.inc()
        if trace.outcome == "failed":
            self.errors.labels("turn").inc()
        if trace.ttfa_ns is not None:
            self.ttfa.observe(trace.ttfa_ns / 1e9)
        for stage, ms in trace.stage_ms().items():
            if ms is not None and stage in STAGES:
                self.stage.labels(stage).observe(ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
