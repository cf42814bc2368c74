"""Real witnesses for the witness benchmark: ``pmm witness keygen`` once per run,
then ``pmm witness serve`` processes for one ledger's log key, each with a new
state file, on loopback ports; and the home's witness policy naming them."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import monotonic, sleep

from benchmarks.common import free_port, peak_rss_mb
from benchmarks.http_servers import PMM
from ledger.home import POLICY_FILE

STARTUP_SECONDS = 60.0
WITNESS_ORIGIN = "bench.pmm.example/witness"


@dataclass(frozen=True)
class WitnessKey:
    name: str  # the policy's name for it: w1, w2, ...
    path: Path
    vkey: str  # its cosigner verifier key (type 0x04)


@dataclass
class Running:
    key: WitnessKey
    url: str
    process: subprocess.Popen[bytes]

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.process.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the witness process so far (from /proc)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1]
            utime, stime = fields.split()[11:13]
        except (OSError, ValueError, IndexError):
            return math.nan
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


def make_keys(folder: Path, count: int) -> list[WitnessKey]:
    """``count`` witness keys made by ``pmm witness keygen`` (untimed, once a run)."""
    keys = []
    for n in range(1, count + 1):
        path = folder / f"w{n}.key"
        done = subprocess.run(
            [PMM, "witness", "keygen", f"{WITNESS_ORIGIN}/w{n}", "--out", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pmm witness keygen failed: {done.stderr.strip()}")
        keys.append(WitnessKey(f"w{n}", path, done.stdout.strip()))
    return keys


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def serving(keys: list[WitnessKey], log_vkey: str, folder: Path) -> Iterator[list[Running]]:
    """``pmm witness serve`` for each key, witnessing ``log_vkey``, new state each;
    yields them once every one accepts connections; stopped afterwards."""
    running: list[Running] = []
    try:
        for key in keys:
            port = free_port()
            state = folder / f"{key.name}-{port}.json"
            process = subprocess.Popen(
                [
                    *(PMM, "witness", "serve", "--key", str(key.path)),
                    *("--state", str(state), "--log", log_vkey),
                    *("--listen", f"127.0.0.1:{port}"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            running.append(Running(key, f"http://127.0.0.1:{port}", process))
        deadline = monotonic() + STARTUP_SECONDS
        for one in running:
            port = int(one.url.rsplit(":", 1)[1])
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if one.process.poll() is not None or monotonic() > deadline:
                        raise RuntimeError(
                            f"witness {one.key.name} did not start"
                        ) from None
                    sleep(0.05)
        yield running
    finally:
        for one in running:
            _stop(one.process)


def write_policy(home: Path, log_vkey: str, witnesses: list[Running]) -> str:
    """HOME/witness-policy.txt: the log, the witnesses, every one of them the quorum
    (``quorum none`` without witnesses). Returns the text."""
    lines = [f"log {log_vkey}"]
    lines += [f"witness {w.key.name} {w.key.vkey} {w.url}" for w in witnesses]
    if witnesses:
        names = " ".join(w.key.name for w in witnesses)
        lines += [f"group every all {names}", "quorum every"]
    else:
        lines.append("quorum none")
    text = "\n".join(lines) + "\n"
    (home / POLICY_FILE).write_text(text)
    return text
