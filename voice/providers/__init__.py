"""Speech and language providers behind small protocols (VAD, STT, LLM, TTS).

Providers are synchronous, thread-bound objects: each model is loaded once per process
(`voice.providers.registry`) and runs on its own worker thread, never on the event loop.
They know nothing of transports, sessions or the web server.
"""
