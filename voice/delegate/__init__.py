"""Delegation of long tasks to a durable harness over A2A (docs/delegation.md)."""
