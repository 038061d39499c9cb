"""No orphans (issue 12, item 3): when the judge is killed mid-check, its zygote, the worker and
anything the student's code started die with it, even if that code calls setsid, ignores signals,
clears its parent-death signal and sleeps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from autograder.sandbox import UIDS
from autograder.synth import student_notebook

REPO = Path(__file__).resolve().parent.parent
RNN = json.loads((REPO / "exercises" / "manifest.json").read_text())["01_rnn"]["functions"]

STUBBORN = """def {name}(*args):
    import ctypes, os, signal, time
    ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)      # PR_SET_PDEATHSIG: none, thanks
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    try:
        os.setsid()
    except OSError:
        pass
    time.sleep(60)
"""


def _processes() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, start time in clock ticks, real uid) of every process on the host."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        uid = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("Uid:")))
        out[int(name)] = (int(fields[1]), int(fields[19]), uid)
    return out


def _descendants(root: int) -> dict[int, tuple[int, int, int]]:
    procs = _processes()
    found, todo = {}, [root]
    while todo:
        parent = todo.pop()
        for pid, info in procs.items():
            if info[0] == parent and pid not in found:
                found[pid] = info
                todo.append(pid)
    return found


def test_killing_the_judge_mid_check_leaves_no_process(tmp_path):
    nb = student_notebook(tmp_path / "stubborn" / "01_rnn.ipynb", RNN,
                          overrides={f: STUBBORN.format(name=f) for f in RNN})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    judge = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(nb),
                              "--assignment", "01_rnn", "--timeout", "30"],
                             cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        # Wait until a worker runs (as root: a process under a worker uid; else a grandchild of
        # the judge), then give it time to reach the student's sleep.
        def worker_started(tree: dict) -> bool:
            if os.geteuid() == 0:
                return any(UIDS[0] <= uid < UIDS[0] + UIDS[1] for _, _, uid in tree.values())
            return any(ppid != judge.pid for ppid, _, _ in tree.values())

        deadline = time.monotonic() + 60
        tree: dict = {}
        while time.monotonic() < deadline and not worker_started(tree):
            time.sleep(0.1)
            tree = _descendants(judge.pid)
        assert worker_started(tree), f"no worker started: {tree}"
        time.sleep(1.5)
        tree = _descendants(judge.pid)
        judge.send_signal(signal.SIGKILL)
        judge.wait()
        deadline = time.monotonic() + 5
        left = tree
        while time.monotonic() < deadline:
            now = _processes()
            # Same pid and same start time: the very process, not a reused pid.
            left = {pid: info for pid, info in tree.items()
                    if pid in now and now[pid][1] == info[1]}
            if not left:
                break
            time.sleep(0.1)
        assert not left, f"left behind 5 s after the judge died: {left}"
        if os.geteuid() == 0:
            uids = {info[2] for info in tree.values() if info[2] >= UIDS[0]}
            assert not [p for p, info in _processes().items() if info[2] in uids]
    finally:
        if judge.poll() is None:
            judge.kill()
            judge.wait()
