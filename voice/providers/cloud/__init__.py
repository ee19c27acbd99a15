"""Cloud providers on the vendors' official SDKs: Deepgram STT, Anthropic LLM, Cartesia TTS.

Each implements the protocol of its stage (voice/providers/base.py) and is only ever used
behind a failover wrapper (voice/providers/failover.py) whose fallback is the local provider.
"""

# Stage -> cloud provider names that `providers.<stage>` may take.
CLOUD_PROVIDERS = {"stt": ("deepgram",), "llm": ("anthropic",), "tts": ("cartesia",)}
