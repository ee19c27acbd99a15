"""The latency lab: corpus tooling, replay runner, reports, side-by-side peers."""
