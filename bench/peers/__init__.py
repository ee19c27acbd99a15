"""Peer frameworks (Pipecat, LiveKit Agents) driven through the same loopback transport."""
