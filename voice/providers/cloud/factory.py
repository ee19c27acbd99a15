"""Builds a stage's cloud provider with its local fallback behind it (`registry` calls this).

The local provider is built from the same config with the stage set back to its default,
and warmed up here: the first fallback must not pay graph set-up on top of the deadline.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import numpy as np

from voice.audio import SAMPLE_RATE
from voice.config import CloudConfig, Config
from voice.providers.base import LLM, STT, TTS
from voice.providers.circuit_breaker import CircuitBreaker
from voice.providers.cloud.secrets import api_key
from voice.providers.failover import Failover, FailoverLLM, FailoverSTT, FailoverTTS

LOCAL_DEFAULTS = {"stt": "whisper", "llm": "llama", "tts": "piper"}


def local_config(config: Config, stage: str) -> Config:
    """`config` with `providers.<stage>` back to the local default."""
    providers = dataclasses.replace(config.providers, **{stage: LOCAL_DEFAULTS[stage]})
    return dataclasses.replace(config, providers=providers)


def _failover(config: Config, stage: str, cloud_name: str, local_name: str) -> Failover:
    settings: CloudConfig = getattr(config, cloud_name)
    return Failover(
        stage=stage,
        cloud_name=cloud_name,
        local_name=local_name,
        first_byte_timeout_s=settings.first_byte_timeout_ms / 1000,
        stall_timeout_s=settings.stall_timeout_ms / 1000,
        breaker=CircuitBreaker(
            failures_to_open=config.failover.failures_to_open,
            cooldown_s=config.failover.cooldown_s,
        ),
    )


def cloud_stt(config: Config, load_local: Callable[[], STT]) -> STT:
    from voice.providers.cloud.deepgram_stt import DeepgramSTT

    key = api_key("deepgram", config.providers.secrets_file)  # a missing key fails first
    local = load_local()
    local.transcribe(np.zeros(SAMPLE_RATE // 2, dtype=np.int16))
    cloud = DeepgramSTT(key, config.deepgram)
    return FailoverSTT(cloud, local, _failover(config, "stt", cloud.name, local.name))


def cloud_llm(config: Config, load_local: Callable[[], LLM]) -> LLM:
    from voice.providers.cloud.anthropic_llm import AnthropicLLM

    key = api_key("anthropic", config.providers.secrets_file)
    local = load_local()
    cloud = AnthropicLLM(key, config.anthropic, system_prompt=config.llm.system_prompt)
    return FailoverLLM(cloud, local, _failover(config, "llm", cloud.name, local.name))


def cloud_tts(config: Config, load_local: Callable[[], TTS]) -> TTS:
    from voice.providers.cloud.cartesia_tts import CartesiaTTS

    key = api_key("cartesia", config.providers.secrets_file)
    local = load_local()
    for _chunk in local.synthesize("Hello there.", threading.Event()):
        pass
    cloud = CartesiaTTS(key, config.cartesia, sample_rate=local.sample_rate)
    return FailoverTTS(cloud, local, _failover(config, "tts", cloud.name, local.name))
