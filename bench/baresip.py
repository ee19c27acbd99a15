"""Calling the agent with baresip, a real softphone, headless: a WAV file as the microphone.

baresip runs from a config folder made here: `aufile` plays an 8 kHz WAV as the microphone,
`sndfile` records both directions of the call (`dump-*-dec.wav` is what the caller heard), no
console UI (`stdio`); `menu` only provides the `/dial` command given with `-e`, and `-t`
quits (hanging up) after a bounded time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from voice.audio import Clip, read_wav, resample, write_wav

BARESIP = "baresip"
MODULES = Path("/usr/lib/baresip/modules")


def write_config(folder: Path, microphone_wav: Path, sip_port: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config").write_text(
        "\n".join(
            [
                f"module_path {MODULES}",
                "sip_listen 127.0.0.1:" + str(sip_port),
                "net_interface 127.0.0.1",
                "audio_source aufile," + str(microphone_wav),
                "audio_player aufile,/dev/null",
                "audio_alert aufile,/dev/null",
                "audio_srate 8000",
                "ausrc_srate 8000",
                "auplay_srate 8000",
                "audio_channels 1",
                "rtp_ports 10000-60000",
                f"snd_path {folder}",
                "module g711.so",
                "module aufile.so",
                "module sndfile.so",
                "module_app menu.so",
                "module_app account.so",
                "",
            ]
        )
    )
    (folder / "accounts").write_text("<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU\n")
    return folder


def microphone(clip: Clip, path: Path, tail_s: float = 8.0) -> Path:
    """The clip at 8 kHz (aufile wants the call's rate), then silence while the agent answers."""
    pcm = resample(clip.samples, clip.sample_rate, 8_000)
    write_wav(path, np.concatenate([pcm, np.zeros(int(tail_s * 8_000), np.int16)]), 8_000)
    return path


async def call(
    folder: Path, agent: tuple[str, int], seconds: int, timeout_s: float = 60.0
) -> tuple[int, str]:
    """Dial the agent, stay `seconds`, quit (BYE); baresip's exit code and its log's tail."""
    process = await asyncio.create_subprocess_exec(
        BARESIP, "-f", str(folder), "-t", str(seconds),
        "-e", f"/dial sip:agent@{agent[0]}:{agent[1]}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")[-3000:]


def heard(folder: Path) -> Clip | None:
    """What the caller heard (sndfile's decoded-audio dump), if baresip wrote one."""
    dumps = sorted(folder.glob("dump-*-dec.wav"))
    return read_wav(dumps[-1]) if dumps else None
