"""Judge side of the sandbox: start the zygote, fork workers, talk to them with time limits.

See ``_zygote.py`` for what happens inside. One :class:`Zygote` serves many threads of the judge;
each submission gets its own :class:`Worker` (and a fresh one after a crash or a timeout).
"""

from __future__ import annotations

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


# What student code may import besides the standard library and course_helpers. A module name per
# entry; its folder (and an auditwheel "<name>.libs" folder beside it) is bound read-only into the
# worker's root. Add "torch" (and its dependencies) only for an assignment that needs it. The
# environment variable AUTOGRADER_PACKAGES (comma-separated) overrides it.
STUDENT_PACKAGES = ("numpy",)
COURSE_LIB = "/course"          # the folder holding course_helpers in the worker's root
UIDS = (1_900_000_000, 1_000_000)   # worker uids: first, count (claimed one by one, see _zygote)


def student_packages() -> tuple[str, ...]:
    env = os.environ.get("AUTOGRADER_PACKAGES")
    return tuple(p.strip() for p in env.split(",") if p.strip()) if env else STUDENT_PACKAGES


def allowlist(packages: tuple[str, ...] = STUDENT_PACKAGES) -> dict:
    """Everything the worker's root holds, as host paths (all bound read-only).

    Returns {"binds": [[host path, path in the root]], "covers": [paths inside the binds kept
    out], "sys_path": the worker's import path}. Raises ValueError for a package not installed.
    """
    import importlib.util
    import sysconfig

    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    binds = [[stdlib, stdlib]]
    sys_path = [COURSE_LIB] + [p for p in sys.path if p == stdlib or p.startswith(stdlib + "/")]
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            raise ValueError(f"student package {name!r} is not installed")
        src = os.path.realpath(spec.origin)
        if spec.submodule_search_locations:
            src = os.path.dirname(src)
        binds.append([src, src])
        if os.path.isdir(src + ".libs"):
            binds.append([src + ".libs", src + ".libs"])
        if os.path.dirname(src) not in sys_path:
            sys_path.append(os.path.dirname(src))
    # The shared libraries of the interpreter and of the extension modules: the C library's folder
    # (/usr/lib/x86_64-linux-gnu on Debian), found from this process's own mappings.
    with open("/proc/self/maps") as f:
        libc = next((ln.split()[-1] for ln in f if "/libc.so" in ln or "/ld-musl" in ln), None)
    for libs in [os.path.dirname(os.path.realpath(libc))] if libc else ["/usr/lib", "/lib"]:
        if [libs, libs] not in binds:
            binds.append([libs, libs])
    helpers = REPO / "course_helpers"
    if helpers.is_dir():
        binds.append([str(helpers.resolve()), f"{COURSE_LIB}/course_helpers"])
    # The base interpreter's own site-packages (pip, IPython, ...) is not for students.
    covers = [os.path.join(stdlib, "site-packages")]
    return {"binds": binds, "covers": covers, "sys_path": sys_path}


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def default_hidden_paths(extra: list[str | Path] = ()) -> list[str]:
    """What the worker must not read: the whole repository except the venv and course_helpers,
    the installed locations of ``solutions`` and ``autograder``, and any extra paths.

    With the allowlist root (as root) nothing outside the allowlist is visible anyway; these
    paths matter where they lie inside it, and without root, where nothing can be hidden."""
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


class Zygote:
    """A clean process that forks workers. Start it before any student code runs.

    ``hide``: paths the worker must not see (see :func:`default_hidden_paths`); ``isolate``:
    namespaces, allowlist root and uid switch (default: when running as root); ``packages``:
    what student code may import (default :func:`student_packages`). If the zygote process dies
    (its judge thread ended, say), the next :meth:`spawn` starts a new one.
    """

    def __init__(self, hide: list[str], isolate: bool | None = None,
                 packages: tuple[str, ...] | None = None):
        if isolate is None:
            isolate = os.geteuid() == 0
        self.hide = sorted(set(hide))
        self.packages = tuple(packages or student_packages())
        # A folder holding a link to course_helpers, for workers without the allowlist root (no
        # root, or namespaces unavailable). The zygote removes it when it exits.
        self._dir = tempfile.mkdtemp(prefix="ag-lib-")
        allow = allowlist(self.packages)
        self.binds = [b[0] for b in allow["binds"]]
        exposed = [Path(b) for b in self.binds]
        covers = allow["covers"] + [h for h in self.hide if _inside(Path(h), exposed)]
        self._cfg = {"isolate": isolate, "hide": self.hide, "libdir": self._dir,
                     "root": "/tmp", "binds": allow["binds"], "covers": covers,
                     "sys_path": allow["sys_path"], "uids": list(UIDS),
                     "packages": ", ".join(self.packages)}
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        os.makedirs(self._dir, mode=0o755, exist_ok=True)      # again after a restart
        os.chmod(self._dir, 0o755)
        link, helpers = os.path.join(self._dir, "course_helpers"), REPO / "course_helpers"
        if helpers.is_dir() and not os.path.lexists(link):
            os.symlink(helpers, link)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # PR_SET_PDEATHSIG fires when the *thread* that started the zygote ends: ask for it only
        # from the main thread (elsewhere the closed socket still ends the zygote with the judge).
        cfg = dict(self._cfg, judge_pid=os.getpid(),
                   pdeathsig=threading.current_thread() is threading.main_thread())
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
        ours.settimeout(60)
        hello, _ = recv_msg(ours)
        ours.settimeout(None)
        self.isolated: bool = hello["isolated"]
        self.rooted: bool = hello.get("rooted", False)
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
        if self.isolated:
            applied.append(f"/tmp holds at most {limits.scratch_mb} MB")
        return {"applied": applied, "not_applied": list(self.missing)}

    def covers(self, paths: list) -> bool:
        """True if no path is visible to this zygote's workers: hidden (itself or a parent), or,
        with the allowlist root, outside everything bound into it."""
        hidden = [Path(h) for h in self.hide]
        exposed = [Path(b) for b in self.binds]
        return all(_inside(Path(p).resolve(), hidden)
                   or (self.rooted and not _inside(Path(p).resolve(), exposed)) for p in paths)

    def spawn(self, limits: Limits) -> Worker:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with self._lock:
                if self._proc.poll() is not None:
                    self._ctrl.close()
                    self._start()
                socket.send_fds(self._ctrl, [json.dumps({"op": "spawn",
                                                         "limits": asdict(limits)}).encode()],
                                [theirs.fileno()])
                reply = json.loads(self._ctrl.recv(4096))
            if "pid" not in reply:
                raise OSError(reply.get("error", "no worker"))
        except (OSError, ValueError) as e:
            ours.close()
            raise WorkerDied(f"could not start a worker: {e}") from e
        finally:
            theirs.close()
        return Worker(self, ours, reply["pid"], reply["uid"], limits)

    def kill(self, pid: int, uid: int | None) -> None:
        """End a worker and everything it started; returns once they are all gone."""
        with self._lock:
            try:
                self._ctrl.sendall(json.dumps({"op": "kill", "pid": pid, "uid": uid}).encode())
                self._ctrl.recv(4096)
            except OSError:
                pass                    # the zygote is gone, and its workers with it

    def close(self) -> None:
        try:
            self._ctrl.close()
            self._proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        try:
            link = os.path.join(self._dir, "course_helpers")
            if os.path.islink(link):
                os.unlink(link)
            os.rmdir(self._dir)
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


# ----------------------------------------------------------------------------- what a worker sees
_SHOW_ROOT = '''
def _show_root(depth, bound):
    import os
    lines = [f"uid={os.getuid()} gid={os.getgid()} pid={os.getpid()} cwd={os.getcwd()}"]

    def walk(path, level):
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as e:
            lines.append(f"{path}/  [cannot list: {e.strerror}]")
            return
        for e in entries:
            kind = "l" if e.is_symlink() else "d" if e.is_dir() else "f"
            mode = oct(e.stat(follow_symlinks=False).st_mode & 0o7777)
            extra = f" -> {os.readlink(e.path)}" if kind == "l" else ""
            lines.append(f"{kind} {mode:>6} {e.path}{extra}")
            if kind == "d" and level < depth and e.path != "/proc":
                walk(e.path, level + 1)

    walk("/", 1)
    lines.append("bound read-only from the host (first entries of each):")
    for path in bound:
        try:
            names = sorted(os.listdir(path))
            lines.append(f"{path}: {len(names)} entries: {', '.join(names[:8])}"
                         + (", ..." if len(names) > 8 else ""))
        except OSError as e:
            lines.append(f"{path}: {e.strerror}")
    procs = sorted(n for n in os.listdir("/proc") if n.isdigit())
    lines.append(f"processes visible in /proc: {procs}")
    return np.frombuffer("\\n".join(lines).encode(), dtype=np.uint8)
'''


def show_root(depth: int = 3) -> str:
    """The worker's view of the file system, listed from inside a worker (as its uid) to ``depth``
    levels, with its uid, pid and the processes it can see. For the record and for audits."""
    import numpy as np

    with Zygote(default_hidden_paths()) as z:
        bound = [dst for _, dst in allowlist(z.packages)["binds"]]
        worker = z.spawn(Limits())
        try:
            worker.request({"op": "load", "chunks": [["<show root>", "import numpy as np\n" + _SHOW_ROOT]]})
            worker.send({"op": "calls", "calls": [{"fn": "_show_root", "args": [depth, bound], "keep": [],
                                                  "echo": False}]})
            reply, arrays = worker.receive()
        finally:
            worker.close()
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error"))
        listing = bytes(np.asarray(arrays[0], dtype=np.uint8)).decode()
        prot = z.protections(Limits())
    return listing + "\nprotections not applied: " + json.dumps(prot["not_applied"])


def root_tree() -> str:
    """The whole tree of the workers' root as the host's root user sees it (through
    /proc/<zygote>/root): every folder made for it, each bound folder as one line. The workers have
    the same tree, plus their own /tmp and /proc. Needs root (otherwise there is no such root)."""
    with Zygote(default_hidden_paths()) as z:
        if not z.rooted:
            return "no allowlist root: " + json.dumps(z.missing)
        base = f"/proc/{z._proc.pid}/root"
        allow = allowlist(z.packages)
        bound = {dst: src for src, dst in allow["binds"]}
        lines = ["/"]

        def walk(folder: str) -> None:
            for e in sorted(os.scandir(base + folder), key=lambda e: e.name):
                path = folder.rstrip("/") + "/" + e.name
                mode = oct(e.stat(follow_symlinks=False).st_mode & 0o7777)
                if path in bound:
                    hidden = [c for c in allow["covers"] if c.startswith(path + "/")]
                    lines.append(f"{mode:>6} {path}/  [read-only bind of the host's {bound[path]}: "
                                 f"{len(os.listdir(e.path))} entries"
                                 + "".join(f"; {c} covered by an empty tmpfs" for c in hidden) + "]")
                elif e.is_symlink():
                    lines.append(f"{mode:>6} {path} -> {os.readlink(e.path)}")
                elif e.is_dir():
                    lines.append(f"{mode:>6} {path}/")
                    walk(path)
                else:
                    lines.append(f"{mode:>6} {path}")

        walk("/")
    return "\n".join(lines)

