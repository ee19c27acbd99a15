"""`voice doctor` for cloud providers: configured (a key), reachable, authorized; never the key.

One authorized request per configured provider (Deepgram: list projects; Anthropic: list
models; Cartesia: list voices) tells the three apart: no key is a config error naming the
variable, a network error means unreachable, an HTTP 401/403 means the key was refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from voice.config import Config
from voice.errors import VoiceError
from voice.providers.cloud import CLOUD_PROVIDERS
from voice.providers.cloud.secrets import KEY_VARIABLES, api_key, redact

_DISTRIBUTIONS = {"deepgram": "deepgram-sdk", "anthropic": "anthropic", "cartesia": "cartesia"}


@dataclass
class CloudCheck:
    stage: str
    provider: str
    ok: bool
    source: str  # where it is and which variable holds the key
    version: str
    seconds: str
    message: str = ""


def _client(provider: str, key: str, config: Config) -> Any:
    if provider == "deepgram":
        from voice.providers.cloud.deepgram_stt import DeepgramSTT

        return DeepgramSTT(key, config.deepgram)
    if provider == "anthropic":
        from voice.providers.cloud.anthropic_llm import AnthropicLLM

        return AnthropicLLM(key, config.anthropic)
    from voice.providers.cloud.cartesia_tts import CartesiaTTS

    return CartesiaTTS(key, config.cartesia, sample_rate=16000)


def _status(exc: Exception) -> int | None:
    for attribute in ("status_code", "status"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int):
            return value
    return None


def check_cloud(config: Config) -> list[CloudCheck]:
    checks: list[CloudCheck] = []
    for stage, names in CLOUD_PROVIDERS.items():
        provider = getattr(config.providers, stage)
        if provider not in names:
            continue
        variable = KEY_VARIABLES[provider]
        distribution = _DISTRIBUTIONS[provider]
        version = f"{distribution} {metadata.version(distribution)}"
        base_url = getattr(config, provider).base_url or "vendor default"
        source = f"{base_url} (key: ${variable})"
        started = time.perf_counter()
        try:
            key = api_key(provider, config.providers.secrets_file)
            client = _client(provider, key, config)
            client.check()
        except VoiceError as exc:
            checks.append(CloudCheck(stage, provider, False, source, version, "-", str(exc)))
            continue
        except Exception as exc:
            status = _status(exc)
            if status in (401, 403):
                message = f"reachable, but the key in {variable} was refused (HTTP {status})"
            elif status is not None:
                message = f"reachable, answered HTTP {status}"
            else:
                message = redact(f"unreachable: {type(exc).__name__}: {exc}")[:200]
            checks.append(CloudCheck(stage, provider, False, source, version, "-", message))
            continue
        elapsed = f"{time.perf_counter() - started:.2f}"
        checks.append(CloudCheck(stage, provider, True, source, version, elapsed, "authorized"))
    return checks
