"""voice: a real-time cascaded voice agent held to a 500 ms time-to-first-audio budget."""

__version__ = "0.1.0"
