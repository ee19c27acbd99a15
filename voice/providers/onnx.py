"""ONNX Runtime sessions with explicit thread counts.

Two cores are contended here: every ONNX model gets a fixed intra-op thread count from config
instead of ONNX Runtime's default of one thread per core.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from voice.errors import ModelLoadError


def onnx_session(path: Path, threads: int, spin: bool = True) -> ort.InferenceSession:
    """An ONNX Runtime CPU session with a fixed number of intra-op threads.

    `spin = False` makes the session's worker threads sleep instead of busy-waiting between
    and after inferences: a spinning pool takes a core from whichever model runs next on these
    two cores (measured for Piper beside llama.cpp: docs/latency.md, "Spinning threads").
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises several unrelated types for a bad file
        raise ModelLoadError(f"cannot load ONNX model {path}: {exc}") from exc
