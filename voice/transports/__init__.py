"""Transports: how audio gets in and out of a session (in-process loopback; later WebRTC, SIP)."""
