"""Loads each model once per process and shares it with every session.

`Models` bundles the four providers with one worker thread each. `load_models(config)` is
memoized on the provider settings, so a server that opens many sessions, or a benchmark that
replays many cases, pays for model loading once.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voice.audio import SAMPLE_RATE, resample, split_frames
from voice.config import Config
from voice.errors import ConfigError, ModelLoadError
from voice.providers import model_files
from voice.providers.base import LLM, STT, TTS, VAD
from voice.providers.worker import ModelWorker

if TYPE_CHECKING:
    from voice.providers.smart_turn import SmartTurn

log = logging.getLogger(__name__)


@dataclass
class Models:
    vad: VAD
    stt: STT
    llm: LLM
    tts: TTS
    vad_worker: ModelWorker
    stt_worker: ModelWorker
    llm_worker: ModelWorker
    tts_worker: ModelWorker
    # The audio end-of-turn model, when the configured detector uses it and it loaded; None
    # makes the fused decision fall back to the words and the pause (with a warning).
    smart_turn: SmartTurn | None = None
    smart_turn_worker: ModelWorker | None = None
    # `failover.bridge_text` in the local voice, 16 kHz: played at once when a cloud stage's
    # failover makes a reply late (voice/agent/bridge.py). None: no cloud stage, or no bridge.
    bridge_pcm: np.ndarray | None = None


_cache: dict[str, Models] = {}
_cache_lock = threading.Lock()


def _key(config: Config) -> str:
    sections = ("providers", "vad", "stt", "llm", "tts", "deepgram", "anthropic", "cartesia")
    data: dict[str, Any] = {name: config.to_dict()[name] for name in (*sections, "failover")}
    data["smart_turn"] = (
        _wants_smart_turn(config),
        config.turn.smart_turn_threads,
        config.turn.smart_turn_path,
    )
    return json.dumps(data, sort_keys=True)


def _wants_smart_turn(config: Config) -> bool:
    return config.turn.detector in ("fused", "smart_turn")


def smart_turn_model(config: Config) -> SmartTurn:
    """Smart Turn from `turn.smart_turn_path` or pipecat-ai's wheel; `ModelLoadError` if bad."""
    from voice.providers.smart_turn import SmartTurn

    path = (
        Path(config.turn.smart_turn_path)
        if config.turn.smart_turn_path
        else model_files.smart_turn_path()
    )
    if not path.is_file():
        raise ModelLoadError(f"Smart Turn model {path} does not exist")
    return SmartTurn(path, threads=config.turn.smart_turn_threads)


def load_smart_turn(config: Config) -> SmartTurn | None:
    """Smart Turn v3.2 from pipecat-ai's wheel, or None (with a warning) if it cannot load:
    the agent then decides from the words and the pause instead of failing."""
    if not _wants_smart_turn(config):
        return None
    try:
        return smart_turn_model(config)
    except ModelLoadError as exc:
        log.warning("Smart Turn unavailable, deciding end of turn from words and pause: %s", exc)
        return None


def load_vad(config: Config) -> VAD:
    if config.providers.vad != "silero":
        raise ConfigError(f"unknown VAD provider '{config.providers.vad}' (known: silero)")
    from voice.providers.silero_vad import SileroVAD

    return SileroVAD(model_files.silero_vad_path(), threads=config.vad.threads)


def load_stt(config: Config) -> STT:
    if config.providers.stt == "deepgram":  # with the local STT behind it (docs/cloud.md)
        from voice.providers.cloud.factory import cloud_stt, local_config

        return cloud_stt(config, lambda: load_stt(local_config(config, "stt")))
    if config.providers.stt != "whisper":
        raise ConfigError(
            f"unknown STT provider '{config.providers.stt}' (known: whisper, deepgram)"
        )
    from voice.providers.stt_options import decode_options
    from voice.providers.whisper_stt import WhisperSTT

    model_dir = Path(config.stt.model_dir) if config.stt.model_dir else model_files.whisper_dir()
    whisper = WhisperSTT(model_dir, threads=config.stt.threads, options=decode_options(config.stt))
    if not config.stt.reuse_prefix:
        return whisper
    from voice.providers.prefix_stt import PrefixReuseSTT

    return PrefixReuseSTT(whisper, min_tail_s=config.stt.reuse_min_tail_s)


def load_llm(config: Config) -> LLM:
    if config.providers.llm == "anthropic":
        from voice.providers.cloud.factory import cloud_llm, local_config

        return cloud_llm(config, lambda: load_llm(local_config(config, "llm")))
    if config.providers.llm != "llama":
        raise ConfigError(
            f"unknown LLM provider '{config.providers.llm}' (known: llama, anthropic)"
        )
    from voice.providers.llama_llm import LlamaLLM
    from voice.providers.llm_profiles import PROFILES, model_path, uses_ascii_vocab
    from voice.providers.prompts import PROMPTS

    profile = PROFILES[config.llm.profile]
    path = model_path(config.llm)
    if not path.is_file():
        raise ConfigError(f"llm.model_path {path} does not exist")
    return LlamaLLM(
        path,
        threads=config.llm.threads,
        context=config.llm.context,
        max_tokens=config.llm.max_tokens,
        temperature=config.llm.temperature,
        system_prompt=config.llm.system_prompt,
        prompt=PROMPTS[config.llm.prompt or profile.prompt],
        chat_template=profile.chat_template,
        ascii_text=uses_ascii_vocab(config.llm),
    )


def load_tts(config: Config) -> TTS:
    if config.providers.tts == "cartesia":
        from voice.providers.cloud.factory import cloud_tts, local_config

        return cloud_tts(config, lambda: load_tts(local_config(config, "tts")))
    if config.providers.tts != "piper":
        raise ConfigError(f"unknown TTS provider '{config.providers.tts}' (known: piper, cartesia)")
    from voice.providers.piper_tts import PiperTTS

    if config.tts.model_path:
        model_path = Path(config.tts.model_path)
        config_path = Path(f"{model_path}.json")
    else:
        model_path, config_path = model_files.piper_voice_paths()
    return PiperTTS(
        model_path,
        config_path,
        threads=config.tts.threads,
        length_scale=config.tts.length_scale,
        spin=config.tts.spin,
    )


def _warm_up(models: Models) -> None:
    """Run each model once: first inferences pay for graph set-up and memory allocation,
    which must not land on the first caller's first turn."""
    silence = np.zeros(SAMPLE_RATE // 2, dtype=np.int16)
    stream = models.vad.new_stream()
    for frame in split_frames(silence):
        stream.probability(frame)
    models.stt.transcribe(silence)
    if models.smart_turn is not None:
        models.smart_turn.probability(silence)
    for _chunk in models.tts.synthesize("Hello there.", threading.Event()):
        pass


def bridge_audio(tts: TTS, text: str) -> np.ndarray:
    """`text` spoken by the local voice (behind a cloud TTS: its local one), as 16 kHz PCM.
    Synthesized once at load, so a failover costs no model call to bridge."""
    from voice.providers.failover import FailoverTTS

    voice = tts.local if isinstance(tts, FailoverTTS) else tts
    chunks = list(voice.synthesize(text, threading.Event()))
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    return resample(pcm, voice.sample_rate, SAMPLE_RATE)


def _has_failover(models: Models) -> bool:
    from voice.providers.failover import FailoverLLM, FailoverSTT, FailoverTTS

    wrappers = (FailoverSTT, FailoverLLM, FailoverTTS)
    return any(isinstance(m, wrappers) for m in (models.stt, models.llm, models.tts))


def load_models(config: Config) -> Models:
    key = _key(config)
    with _cache_lock:
        if key not in _cache:
            models = Models(
                vad=load_vad(config),
                stt=load_stt(config),
                llm=load_llm(config),
                tts=load_tts(config),
                vad_worker=ModelWorker("vad"),
                stt_worker=ModelWorker("stt"),
                llm_worker=ModelWorker("llm"),
                tts_worker=ModelWorker("tts"),
            )
            models.smart_turn = load_smart_turn(config)
            if models.smart_turn is not None:
                models.smart_turn_worker = ModelWorker("smart-turn")
            _warm_up(models)
            if config.failover.bridge and _has_failover(models):
                models.bridge_pcm = bridge_audio(models.tts, config.failover.bridge_text)
            _cache[key] = models
        return _cache[key]
