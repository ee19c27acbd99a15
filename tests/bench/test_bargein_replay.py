"""The offline barge-in replay (`voice bench CORPUS --sweep bargein`) on the real VAD and STT."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.bargein_replay import replay_clip, timed
from bench.corpus import load_corpus
from voice.bargein.policy import BargeInSettings
from voice.cli import app
from voice.config import load_config
from voice.providers.registry import load_stt, load_vad

pytestmark = pytest.mark.slow

OVERLAYS = Path(__file__).resolve().parents[2] / "bench" / "corpus" / "overlays"


def test_a_barge_in_pauses_at_once_and_a_door_never_pauses() -> None:
    config = load_config(None)
    vad, stt = load_vad(config), timed(load_stt(config))
    cases = {case.id: case for case in load_corpus(OVERLAYS).cases}
    barge = replay_clip(cases["barge-in-02"], BargeInSettings(), vad, stt)  # "No no, ..."
    assert barge.interrupted
    assert barge.stop_ms is not None and barge.stop_ms <= 150, barge.decisions
    assert barge.decisions[0]["decision"] == "pause"
    door = replay_clip(cases["noise-02-door"], BargeInSettings(), vad, stt)
    assert door.decisions == [] and door.false_bargein is False


def test_sweep_bargein_writes_every_policy_per_clip(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = []
    for line in (OVERLAYS / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry["id"] in ("barge-in-02", "backchannel-03-yeah"):
            shutil.copy(OVERLAYS / entry["audio"], corpus / entry["audio"])
            lines.append(line)
    (corpus / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "replay.json"
    result = CliRunner().invoke(
        app, ["bench", str(corpus), "--sweep", "bargein", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "barge-in replay" in result.output
    policies = json.loads(out.read_text())["policies"]
    assert set(policies) == {
        "configured",
        "pause, undecided=interrupt",
        "pause, undecided=resume",
        "wait",
    }
    for policy in policies.values():
        assert [clip["id"] for clip in policy["clips"]] == ["barge-in-02", "backchannel-03-yeah"]
        assert policy["barge_ins"] == 1 and policy["others"] == 1
    assert policies["wait"]["clips"][0]["decisions"][0]["decision"] != "pause"
