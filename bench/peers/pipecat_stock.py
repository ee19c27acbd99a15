"""Pipecat's own local services, as its users get them, on our model files and thread counts.

- STT: `WhisperSTTService` (faster-whisper) on our Whisper tiny.en directory, CPU, int8, with
  its own decoding defaults (beam 5 over a 30 s window, its no-speech filter). It has no thread
  setting, and faster-whisper's default is 4 threads, so the model is built here with our STT
  thread count and handed to the service through its model-loading hook.
- LLM: `OpenAILLMService` against our GGUF served by `bench.peers.llm_server` (threads set
  there), with the configured system prompt and our sampling settings (temperature, top-p,
  token limit).
- TTS: `PiperTTSService` on the joe voice's folder (already there, so nothing is downloaded).
  It loads the voice with ONNX Runtime's default of one thread per core; its session is
  replaced by one with our TTS thread count, loaded once per peer.

Heavy models (Whisper, the Piper voice) are loaded once per peer and warmed once, as ours are
(`bench.peers.warm`); the Pipecat services are built per session, as a Pipecat bot builds them
per call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faster_whisper import WhisperModel
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.piper.tts import PiperTTSService
from pipecat.services.whisper.stt import WhisperSTTService
from piper import PiperVoice

from bench.fairness import system_prompt
from bench.peers.llm_server import MODEL_ALIAS, TOP_P
from bench.peers.warm import onnx_threads, pinned_piper, warm_piper, warm_whisper
from voice.config import Config
from voice.providers import model_files

PIPER_VOICE = "en_US-joe-medium"


class StockModels:
    """The models the stock services share across sessions, with our thread counts."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.whisper_dir = model_files.whisper_dir()
        self.whisper = WhisperModel(
            str(self.whisper_dir),
            device="cpu",
            compute_type="int8",
            cpu_threads=config.stt.threads,
            num_workers=1,
        )
        onnx_path, config_path = model_files.piper_voice_paths()
        self.piper_dir: Path = onnx_path.parent
        voice = pinned_piper(onnx_path, config_path, config.tts.threads)
        self.piper_session = voice.session
        warm_whisper(self.whisper)
        warm_piper(voice)

    def threads(self) -> dict[str, int | None]:
        """STT as configured (CTranslate2 does not report it back), TTS as its session says."""
        return {"stt": self.config.stt.threads, "tts": onnx_threads(self.piper_session)}


class SharedWhisperSTTService(WhisperSTTService):
    """`WhisperSTTService` using a model loaded once, instead of loading one per session."""

    def __init__(self, *, whisper_model: WhisperModel, **kwargs: Any) -> None:
        self._shared_whisper = whisper_model
        super().__init__(**kwargs)

    def _load(self) -> None:
        self._model = self._shared_whisper


def stock_stt(models: StockModels) -> WhisperSTTService:
    return SharedWhisperSTTService(
        whisper_model=models.whisper,
        device="cpu",
        compute_type="int8",
        settings=WhisperSTTService.Settings(model=str(models.whisper_dir)),
    )


def stock_llm(config: Config, base_url: str) -> OpenAILLMService:
    return OpenAILLMService(
        api_key="local",
        base_url=base_url,
        settings=OpenAILLMService.Settings(
            model=MODEL_ALIAS,
            system_instruction=system_prompt(config),
            temperature=config.llm.temperature,
            top_p=TOP_P,
            max_tokens=config.llm.max_tokens,
        ),
    )


def stock_tts(models: StockModels) -> PiperTTSService:
    tts = PiperTTSService(
        download_dir=models.piper_dir,
        settings=PiperTTSService.Settings(voice=PIPER_VOICE),
    )
    voice: PiperVoice = tts._voice
    voice.session = models.piper_session
    return tts
