"""Scale-out: Kamailio (deploy/kamailio/kamailio.cfg) spreads SIPp's calls over two
`voice serve --sip` worker processes, probing them with OPTIONS; one worker is killed (SIGKILL,
no BYE, no answers) mid-run and the calls that follow all reach the other.

Each worker is the command a user runs, in its own process with its own models; which worker
took a call is read from its `/metrics` (`voice_calls_total`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.sipp import Ear, Scenario, free_udp_port, run_sipp, write_ulaw
from tests.telephony.conftest import CORPUS
from voice.audio import read_wav

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "kamailio" / "kamailio.cfg"


@dataclass
class Worker:
    """One `voice serve --sip` process."""

    host: str
    port: int  # SIP
    http: int
    process: asyncio.subprocess.Process

    def sip_calls(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=5) as page:
            text = page.read().decode()
        found = re.search(r'^voice_calls_total\{transport="sip"\} (\S+)$', text, re.MULTILINE)
        return 0 if found is None else int(float(found.group(1)))


@contextlib.asynccontextmanager
async def worker(folder: Path, name: str) -> AsyncIterator[Worker]:
    sip, http = free_udp_port(), free_udp_port()
    log = (folder / f"{name}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voice", "serve", "--port", str(http),
        "--sip", f"127.0.0.1:{sip}", "--max-sessions", "2",
        stdout=log, stderr=log,
    )  # fmt: skip
    try:
        for _ in range(240):  # models load: about 10 s each, two at once on 2 cores
            await asyncio.sleep(0.5)
            assert process.returncode is None, (folder / f"{name}.log").read_text()[-2000:]
            try:
                await asyncio.to_thread(
                    urllib.request.urlopen, f"http://127.0.0.1:{http}/healthz", None, 2
                )
                break
            except OSError:
                continue
        yield Worker("127.0.0.1", sip, http, process)
    finally:
        await stop(process, 30)
        log.close()


@contextlib.asynccontextmanager
async def kamailio(workers: list[Worker], folder: Path):  # type: ignore[no-untyped-def]
    listing = folder / "dispatcher.list"
    listing.write_text("".join(f"1 sip:{w.host}:{w.port}\n" for w in workers))
    port = free_udp_port()
    process = await asyncio.create_subprocess_exec(
        "kamailio", "-DD", "-E", "-f", str(CONFIG), "-l", f"udp:127.0.0.1:{port}",
        "-Y", str(folder), "-P", str(folder / "kamailio.pid"),
        "-A", f'DISPATCHER_LIST="{listing}"', "-A", "DS_PING_INTERVAL=1",
        "-A", "FR_TIMER_MS=1000",
        stdout=asyncio.subprocess.DEVNULL, stderr=(folder / "kamailio.log").open("wb"),
    )  # fmt: skip
    try:
        await asyncio.sleep(1.5)  # started, and the first OPTIONS went out
        assert process.returncode is None, (folder / "kamailio.log").read_text()[-2000:]
        yield ("127.0.0.1", port)
    finally:
        await stop(process, 10)


async def stop(process: asyncio.subprocess.Process, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it is still running after `timeout_s`."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()


def test_calls_spread_over_two_workers_and_survive_one_dying(tmp_path: Path) -> None:
    clip = write_ulaw(read_wav(CORPUS / "hello-world.wav"), tmp_path / "hello.ulaw")

    async def one_call(proxy: tuple[str, int], name: str) -> None:
        workdir = tmp_path / name
        workdir.mkdir()
        ear = await Ear().open()
        try:
            code, log = await run_sipp(
                Scenario(audio=clip, talk_ms=7_000), proxy, [ear.port], workdir, timeout_s=30
            )
        finally:
            ear.close()
        assert code == 0, log
        assert ear.packets, f"{name}: no answer came back"

    async def main() -> None:
        async with (
            worker(tmp_path, "worker-1") as first,
            worker(tmp_path, "worker-2") as second,
            kamailio([first, second], tmp_path) as proxy,
        ):
            await one_call(proxy, "before-1")
            await one_call(proxy, "before-2")
            assert (first.sip_calls(), second.sip_calls()) == (1, 1)  # round-robin
            first.process.kill()  # the first worker dies: no BYE, no answers
            await first.process.wait()
            for index in range(2):
                await one_call(proxy, f"after-{index}")
            assert second.sip_calls() == 3

    asyncio.run(main())
