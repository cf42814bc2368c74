"""Writers forked from a zygote that did the slow imports once (issue 13, "Crash").

Starting ``pmm`` costs seconds of imports on a busy machine; the crash rounds
(tests/faults/crash_harness.py) start one writer each, so a zygote process
imports the command line, the HTTP app and uvicorn once, and forks each writer
from there: a new process, with its own pid, database connections and locks,
killed by ``SIGKILL`` like any other. The zygote never opens a database.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from tests.faults.crash_child import main

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120.0


def zygote() -> None:
    """Fork writers on request, with the slow imports done once .

    Each line on stdin is ``{"argv": [...], "log": PATH, "env": {...}}``; the
    zygote forks a writer that runs ``main(argv)`` with its output in ``log``,
    answers ``{"pid": N}``, then ``{"exit": CODE}`` when it ends (``-9`` when
    killed). The zygote itself opens no database and starts no thread, so the
    writer begins as a fresh ``pmm`` process would, but for the imports.
    """
    import sys

    import uvicorn  # noqa: F401

    import api.cli
    import api.http.app  # noqa: F401

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the writer
            code = 1
            try:
                log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
                os.dup2(log, 1)
                os.dup2(log, 2)
                os.environ.clear()
                os.environ.update(request["env"])
                main(request["argv"])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)


class Writer:
    """A writer process forked by the zygote: its pid, exit code, a kill."""

    def __init__(self, pid: int, answers: IO[bytes]) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.pidfd = os.pidfd_open(pid)  # signals reach this process, never a reused pid
        self.ended = threading.Event()
        threading.Thread(target=self._reap, args=(answers,), daemon=True).start()

    def _reap(self, answers: IO[bytes]) -> None:
        self.returncode = int(json.loads(answers.readline())["exit"])
        self.ended.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float) -> int:
        if not self.ended.wait(timeout):
            raise TimeoutError(f"writer {self.pid} still runs after {timeout} s")
        assert self.returncode is not None
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        return self.returncode

    def kill(self) -> None:
        if self.pidfd >= 0 and not self.ended.is_set():
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)


class Zygote:
    """``python -m tests.faults.crash_zygote``: forks writers, imports done once."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.crash_zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )

    def start(self, argv: list[str], log: Path, env: dict[str, str]) -> Writer:
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"argv": argv, "log": str(log), "env": env}
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        return Writer(
            int(json.loads(self.process.stdout.readline())["pid"]), self.process.stdout
        )

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(TIMEOUT)


if __name__ == "__main__":
    zygote()
