"""Judge side of the sandbox: start the zygote, fork workers, talk to them with time limits.

See ``_zygote.py`` for what happens inside. One :class:`Zygote` serves many threads of the judge;
each submission gets its own :class:`Worker` (and a fresh one after a crash or a timeout).
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder._zygote import recv_msg, send_msg

ZYGOTE_SOURCE = (Path(__file__).with_name("_zygote.py")).read_text()
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Limits:
    """Per-test limits. The defaults suit the course's small arrays; raise them for big tests."""

    timeout_s: float = 10.0        # wall clock for one call (one hidden check)
    load_timeout_s: float = 20.0   # wall clock for executing the notebook's definitions
    cpu_s: int = 10                # CPU seconds for one call (RLIMIT_CPU, raised per call)
    cpu_total_s: int = 600         # CPU seconds for one worker's whole life (hard limit)
    memory_mb: int = 1024          # address space beyond what the worker has mapped at start
    output_bytes: int = 1 << 20    # stdout + stderr of the student's code (RLIMIT_FSIZE)
    nproc: int = 1                 # processes of the worker's uid: 1 = no fork, no threads
    scratch_mb: int = 64           # size of the private /tmp


class WorkerDied(Exception):
    """The worker exited (crash, os._exit, a limit) or stopped answering in time."""


def default_hidden_paths(extra: list[str | Path] = ()) -> list[str]:
    """What the worker must not read: the whole repository except the venv and course_helpers,
    the installed locations of ``solutions`` and ``autograder``, and any extra paths."""
    paths = set()
    for entry in REPO.iterdir():
        if entry.name not in {".venv", "course_helpers"}:
            paths.add(str(entry.resolve()))
    import solutions

    paths.add(str(Path(solutions.__file__).resolve().parent))
    paths.add(str(Path(__file__).resolve().parent))
    for p in extra:
        if p:
            paths.add(str(Path(p).resolve()))
    # Never hide the interpreter itself.
    prefix = str(Path(sys.prefix).resolve())
    return sorted(p for p in paths if not prefix.startswith(p) and p != "/")


_UID_BLOCK = 50_000               # the zygote gives its workers uid_base + (counter % _UID_BLOCK)
_ZYGOTES = itertools.count()


def _next_uid_base() -> int:
    """A block of worker uids of its own for every zygote (of this process and, by pid, of others).

    RLIMIT_NPROC and the kill of a finished worker act on all processes of a uid: two zygotes
    handing out the same uids (several submission folders graded in one process, or parallel
    graders) would stop or kill each other's workers.
    """
    slot = (os.getpid() * 16 + next(_ZYGOTES)) % 40_000
    return 1_000_000 + slot * _UID_BLOCK


class Zygote:
    """A clean process that forks workers. Start it before any student code runs."""

    def __init__(self, hide: list[str], isolate: bool | None = None):
        if isolate is None:
            isolate = os.geteuid() == 0
        self._libdir = tempfile.mkdtemp(prefix="ag-lib-")
        os.chmod(self._libdir, 0o755)
        helpers = REPO / "course_helpers"
        if helpers.is_dir():
            os.symlink(helpers, os.path.join(self._libdir, "course_helpers"))
        self.hide = sorted(set(hide))
        cfg = {"isolate": isolate, "hide": self.hide, "libdir": self._libdir,
               "uid_base": _next_uid_base()}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-c", ZYGOTE_SOURCE, str(theirs.fileno()), json.dumps(cfg)],
            pass_fds=[theirs.fileno()], env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1",
                                             "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
            stdin=subprocess.DEVNULL, cwd="/",
            # Its own session: a signal to the judge's process group does not kill it before it
            # cleans up; it exits by itself as soon as the judge's end of the socket closes.
            start_new_session=True,
        )
        theirs.close()
        self._ctrl = ours
        self._lock = threading.Lock()
        ours.settimeout(60)
        hello, _ = recv_msg(ours)
        ours.settimeout(None)
        self.isolated: bool = hello["isolated"]
        self.applied: list[str] = hello["applied"]
        self.missing: list[str] = hello["missing"]

    def protections(self, limits: Limits) -> dict:
        applied = list(self.applied) + [
            f"wall-clock timeout {limits.timeout_s:g} s per check",
            f"RLIMIT_CPU {limits.cpu_s} s per check",
            f"RLIMIT_AS: {limits.memory_mb} MB beyond the interpreter",
            f"RLIMIT_NPROC {limits.nproc} (no fork)" if self.isolated
            else f"RLIMIT_NPROC {limits.nproc}",
            f"RLIMIT_FSIZE: output capped at {limits.output_bytes} bytes",
            "no pickle: plain numeric arrays only; outputs compared in the judge process",
            "only definitions run: top-level statements, magics and hooks are never executed",
        ]
        return {"applied": applied, "not_applied": list(self.missing)}

    def covers(self, paths: list) -> bool:
        """True if every path is hidden by this zygote (itself or a parent directory)."""
        hidden = [Path(h) for h in self.hide]
        return all(any(Path(p).resolve() == h or h in Path(p).resolve().parents for h in hidden)
                   for p in paths)

    def spawn(self, limits: Limits) -> Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self._lock:
                socket.send_fds(self._ctrl, [json.dumps({"op": "spawn",
                                                         "limits": asdict(limits)}).encode()],
                                [theirs.fileno()])
                reply = json.loads(self._ctrl.recv(4096))
        except (OSError, ValueError) as e:
            ours.close()
            raise WorkerDied(f"could not start a worker: {e}") from e
        finally:
            theirs.close()
        return Worker(self, ours, reply["pid"], reply["uid"], limits)

    def kill(self, pid: int, uid: int) -> None:
        with self._lock:
            self._ctrl.sendall(json.dumps({"op": "kill", "pid": pid, "uid": uid}).encode())
            self._ctrl.recv(4096)

    def close(self) -> None:
        try:
            self._ctrl.close()
            self._proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        try:
            os.unlink(os.path.join(self._libdir, "course_helpers"))
            os.rmdir(self._libdir)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Worker:
    """One sandboxed process holding one submission's code."""

    def __init__(self, zygote: Zygote, sock: socket.socket, pid: int, uid: int, limits: Limits):
        self.zygote, self.sock, self.pid, self.uid, self.limits = zygote, sock, pid, uid, limits
        self.alive = True

    def request(self, header: dict, arrays: list | None = None,
                timeout: float | None = None) -> tuple[dict, list]:
        timeout = timeout or self.limits.timeout_s
        self._guard(lambda: send_msg(self.sock, header, arrays), timeout)
        return self._guard(lambda: recv_msg(self.sock), timeout)

    def send(self, header: dict, arrays: list | None = None) -> None:
        """Send without waiting (the answers are read one by one with :meth:`receive`)."""
        self._guard(lambda: send_msg(self.sock, header, arrays), self.limits.timeout_s)

    def receive(self, timeout: float | None = None) -> tuple[dict, list]:
        return self._guard(lambda: recv_msg(self.sock), timeout or self.limits.timeout_s)

    def _guard(self, action, timeout: float):
        if not self.alive:
            raise WorkerDied("worker already stopped")
        try:
            self.sock.settimeout(timeout)
            return action()
        except TimeoutError as e:
            self.close()
            raise WorkerDied("time limit exceeded (infinite loop?)") from e
        except (EOFError, OSError, ValueError, KeyError, TypeError) as e:
            self.close()
            raise WorkerDied(f"the worker died ({type(e).__name__}): a crash, os._exit, "
                             "or a resource limit") from e

    def close(self) -> None:
        if self.alive:
            self.alive = False
            try:
                self.sock.close()
            finally:
                self.zygote.kill(self.pid, self.uid)
