"""Writers forked from a zygote that did the slow imports once.

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
import queue
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, NoReturn

from tests.faults.crash_child import main

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120.0


def _writer(request: dict[str, Any]) -> NoReturn:
    """In the forked writer: its output to the log, its environment, ``main``."""
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
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _answer(**fields: int) -> None:
    # One write() of a short line: atomic on a pipe, whichever process writes.
    os.write(1, (json.dumps(fields) + "\n").encode())


def zygote() -> None:
    """Fork writers on request, with the slow imports done once.

    Each line on stdin is ``{"argv": [...], "log": PATH, "env": {...}}``. For
    each, a reaper is forked, which forks the writer (``main(argv)``, output to
    ``log``), answers ``{"pid": N}``, then ``{"pid": N, "exit": CODE}`` when
    it ends (``-9`` when killed): so several writers may run at once. The
    zygote opens no database and starts no thread, so a writer begins as a
    fresh ``pmm`` process would, but for the imports.
    """
    import uvicorn  # noqa: F401

    import api.cli
    import api.http.app  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # reapers are reaped by the kernel
    for line in sys.stdin:
        request = json.loads(line)
        if os.fork():
            continue
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the reaper waits for its writer
        pid = os.fork()
        if pid == 0:
            _writer(request)
        _answer(pid=pid)
        _, status = os.waitpid(pid, 0)
        _answer(pid=pid, exit=os.waitstatus_to_exitcode(status))
        os._exit(0)


class Writer:
    """A writer process forked for the zygote: its pid, exit code, a kill."""

    def __init__(self, pid: int, log: Path) -> None:
        self.pid, self.log = pid, log
        self.returncode: int | None = None
        self.ended = threading.Event()
        try:  # signals then reach this process, never a reused pid
            self.pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            self.pidfd = -1

    def end(self, code: int) -> None:
        self.returncode = code
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
        self.started: queue.Queue[int] = queue.Queue()
        self.writers: dict[int, Writer] = {}
        self.exits: dict[int, int] = {}  # writers that ended before they were known
        self.lock = threading.Lock()
        threading.Thread(target=self._answers, daemon=True).start()

    def _answers(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            answer = json.loads(line)
            if "exit" not in answer:
                self.started.put(int(answer["pid"]))
                continue
            with self.lock:
                writer = self.writers.pop(int(answer["pid"]), None)
                if writer is None:
                    self.exits[int(answer["pid"])] = int(answer["exit"])
            if writer is not None:
                writer.end(int(answer["exit"]))

    def start(self, argv: list[str], log: Path, env: dict[str, str]) -> Writer:
        """Fork a writer running ``crash_child.main(argv)``; one start at a time."""
        assert self.process.stdin is not None
        request = {"argv": argv, "log": str(log), "env": env}
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.flush()
        writer = Writer(self.started.get(timeout=TIMEOUT), log)
        with self.lock:
            if writer.pid in self.exits:
                writer.end(self.exits.pop(writer.pid))
            else:
                self.writers[writer.pid] = writer
        return writer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(TIMEOUT)


if __name__ == "__main__":
    zygote()
