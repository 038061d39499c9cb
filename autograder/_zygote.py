"""The sandbox side of the grader: a clean "zygote" process that forks one worker per submission.

This file is run as ``python -I -c <this source>`` by the judge, so it imports nothing from the
``autograder`` package and never sees ``solutions``. The judge also imports it as a module, for
the wire format (``send_msg`` / ``recv_msg``) that both sides share.

Life of the zygote (started once per judge, never runs student code):
1. dies with the judge (``PR_SET_PDEATHSIG``, and it exits when the judge's socket closes);
2. (as root) unshare a mount and a network namespace and build the workers' root file system: a
   fresh tmpfs holding read-only bind mounts of an allowlist only (the standard library, the
   packages student code may import, ``course_helpers``, the shared-library folder), /dev/null,
   /dev/zero, /dev/urandom, and empty /tmp and /proc; then ``pivot_root`` into it and drop the
   host's tree. Nothing else of the host exists for the zygote or its workers from then on;
3. import numpy once (with one BLAS thread), so a forked worker starts in a few milliseconds;
4. on request, claim a uid no other worker on the host holds (an flock'd file per uid under
   /run/autograder-uids) and fork a "keeper" that holds the claim, unshares a PID namespace and
   forks the worker into it. The keeper waits for the worker; the claim ends with the keeper. On
   SIGTERM (from the zygote, or as its parent-death signal) the keeper kills the worker.

Life of a worker (one submission; replaced by a fresh one after a crash or a timeout):
1. PID 1 of its own PID namespace, so its end (SIGKILL from its keeper, or the keeper dying:
   ``PR_SET_PDEATHSIG``) ends every process it could have started, setsid or not;
2. new mount namespace (a copy of the allowlist root) with a private empty /tmp (its scratch and
   working directory) and a /proc showing only its own namespace; stdout and stderr go to a
   size-capped file in /tmp; every descriptor it inherited from the zygote is closed;
3. resource limits (address space, CPU time, processes, file size, core dumps), then drop to its
   claimed uid with no groups and no new privileges;
4. serve requests: "load" executes the extracted notebook code, "call" runs one function on plain
   arrays and sends plain arrays back. Objects stay in the worker; the judge gets handles.

The protections are named once, in ``PROTECTIONS``; the zygote reports each as applied or not.

Wire format (no pickle anywhere): u32 header length, u64 payload length, a JSON header, then the
raw bytes of the arrays listed in header["arrays"] as (dtype, shape). Only numeric dtypes are
accepted by the reader.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys

ALLOWED_DTYPES = {"<f8", "<f4", "<i8", "<i4", "|b1", "|u1", "|i1"}
MAX_HEADER = 4 << 20
MAX_PAYLOAD = 512 << 20


# ----------------------------------------------------------------------------- wire format
def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("peer closed the connection")
        buf += chunk
    return bytes(buf)


def send_msg(sock: socket.socket, header: dict, arrays: list | None = None) -> None:
    """Send a JSON header and a list of numpy arrays (numeric dtypes only)."""
    import numpy as np

    metas, blobs = [], []
    for a in arrays or []:
        a = np.ascontiguousarray(a)
        dt = a.dtype.str
        if dt not in ALLOWED_DTYPES:
            raise TypeError(f"dtype {dt} cannot be sent")
        metas.append([dt, list(a.shape)])
        blobs.append(a.tobytes())
    header = dict(header, arrays=metas)
    hb = json.dumps(header, allow_nan=True).encode()
    payload = b"".join(blobs)
    sock.sendall(struct.pack("<IQ", len(hb), len(payload)) + hb + payload)


def recv_msg(sock: socket.socket) -> tuple[dict, list]:
    """Receive one message; validates sizes and dtypes so a hostile peer cannot smuggle objects."""
    import numpy as np

    hlen, plen = struct.unpack("<IQ", _recv_exact(sock, 12))
    if hlen > MAX_HEADER or plen > MAX_PAYLOAD:
        raise ValueError("message too large")
    header = json.loads(_recv_exact(sock, hlen))
    if not isinstance(header, dict):
        raise ValueError("bad header")
    payload = _recv_exact(sock, plen)
    arrays, offset = [], 0
    for meta in header.get("arrays", []):
        dt, shape = meta
        if dt not in ALLOWED_DTYPES or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise ValueError(f"refused array dtype {dt!r}")
        dtype = np.dtype(dt)
        n = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        if offset + n > len(payload):
            raise ValueError("truncated payload")
        arrays.append(np.frombuffer(payload, dtype=dtype, count=n // dtype.itemsize,
                                    offset=offset).reshape(shape).copy())
        offset += n
    return header, arrays


def cache_signature(obj, depth: int = 0):
    """The structure of a cache, as JSON: containers and their lengths, array kinds and shapes.

    Tuples and lists are both "seq" (a backward unpacks either); numbers are "scalar". Used on
    the student's cache (in the worker) and on the reference's (in the judge); equal signatures
    mean the student's cache has the documented structure.
    """
    import numpy as np

    if depth > 6:
        return ["deep"]
    if isinstance(obj, tuple | list):
        if len(obj) > 256:
            return ["seq", len(obj)]
        return ["seq", [cache_signature(v, depth + 1) for v in obj]]
    if isinstance(obj, dict):
        return ["dict", [[str(k), cache_signature(v, depth + 1)] for k, v in sorted(
            obj.items(), key=lambda kv: str(kv[0]))][:256]]
    if isinstance(obj, np.ndarray):
        return ["array", obj.dtype.kind, list(obj.shape)]
    if isinstance(obj, int | float | bool | np.generic):
        return ["scalar"]
    if obj is None:
        return ["none"]
    return ["object", type(obj).__name__[:40]]


# ----------------------------------------------------------------------------- linux helpers
CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
UID_LOCKS = "/run/autograder-uids"

# Every protection of the sandbox, by name. The results list each under protections.applied, or
# under protections.not_applied with the reason (no root, no namespaces, ...).
PROTECTIONS = {
    "network": "no network: a network namespace without interfaces",
    "root": ("allowlist root: pivot_root into a fresh tmpfs holding read-only binds of the standard "
             "library, the student packages ({packages}), course_helpers and the shared-library "
             "folder, plus /dev/null, /dev/zero, /dev/urandom, its own /proc and /tmp; nothing "
             "else of the host (no references, hidden tests, other submissions, /etc, /root, /work)"),
    "uid": ("a uid of its own, unique on the host while the worker lives (flock'd claim in "
            f"{UID_LOCKS}), no groups, no_new_privs"),
    "pidns": ("a PID namespace per worker whose init is the worker: its end kills every process "
              "it started, and it sees no other process"),
    "scratch": "a private tmpfs /tmp per worker as working directory",
    "pdeathsig": ("dies with the judge: PR_SET_PDEATHSIG on the zygote (SIGKILL), on the worker's "
                  "keeper (SIGTERM: it kills the worker) and on the worker (SIGKILL); the zygote "
                  "also exits when the judge's socket closes"),
}


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc().unshare(flags), "unshare")


def _prctl(option: int, value: int) -> None:
    _check(_libc().prctl(option, value, 0, 0, 0), "prctl")


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    def enc(s):
        return s.encode() if s is not None else None

    _check(_libc().mount(enc(src), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _mkdirs(root: str, path: str, mode: int = 0o711) -> str:
    """Create ``path`` inside ``root``, directory by directory; new directories can be crossed but
    not listed by the worker (mode 711), so /root or /work show nothing but what is bound."""
    cur = root
    for part in path.strip("/").split("/"):
        cur = os.path.join(cur, part)
        if not os.path.lexists(cur):
            os.mkdir(cur)
            os.chmod(cur, mode)
    return cur


def _bind(src: str, dst: str, flags: int = MS_RDONLY | MS_NODEV) -> None:
    """Bind ``src`` (not its sub-mounts) on ``dst``, then apply ``flags`` (read-only by default)."""
    _mount(src, dst, None, MS_BIND, None)
    _mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_NOSUID | flags, None)


def _build_root(root: str, binds: list, covers: list) -> None:
    """Mount the workers' whole file system on ``root`` (in our own mount namespace, so /tmp will
    do: the host's /tmp is untouched); see the module docstring.

    ``binds``: [host path, path in the root], bound read-only. ``covers``: paths inside those binds
    that stay out (an empty read-only tmpfs over them), such as the interpreter's own site-packages.
    """
    import stat

    # Hold every source open first: the new root may be mounted over one of their parents (/tmp).
    sources = [(os.open(src, os.O_PATH | os.O_CLOEXEC), dst) for src, dst in binds]
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for fd, dst in sources:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            target = _mkdirs(root, dst)
        else:
            target = os.path.join(_mkdirs(root, os.path.dirname(dst)), os.path.basename(dst))
            open(target, "w").close()
        _bind(f"/proc/self/fd/{fd}", target)
        os.close(fd)
    for path in covers:
        target = root + path
        if os.path.isdir(target) and not os.path.islink(target):
            _mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   "size=4k,mode=000")
        elif os.path.isfile(target) and not os.path.islink(target):
            _bind("/dev/null", target)
    dev = _mkdirs(root, "/dev", 0o755)
    for name in ("null", "zero", "urandom"):
        open(os.path.join(dev, name), "w").close()
        _bind(f"/dev/{name}", os.path.join(dev, name), MS_NOEXEC)
    _mkdirs(root, "/tmp", 0o755)
    _mkdirs(root, "/proc", 0o555)
    if os.path.islink("/lib") and not os.path.lexists(os.path.join(root, "lib")):
        os.symlink(os.readlink("/lib"), os.path.join(root, "lib"))   # merged /usr: lib -> usr/lib
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)


def _pivot(root: str) -> None:
    """Make ``root`` the file system root of this mount namespace and detach the host's tree."""
    os.chdir(root)
    _check(_libc().syscall(SYS_PIVOT_ROOT[os.uname().machine], b".", b"."), "pivot_root")
    _check(_libc().umount2(b".", MNT_DETACH), "umount the old root")
    os.chdir("/")


def _claim_uid(locks: int, first: int, count: int) -> tuple[int, int]:
    """The lowest uid in [first, first + count) that no live worker on this host holds.

    A claim is an exclusive flock on the file ``<uid>`` in the lock folder (``locks`` is its
    descriptor); the kernel drops it when the last process holding the descriptor dies, so a
    crashed grader never leaks a uid. Returns (uid, descriptor holding the claim).
    """
    import fcntl

    for uid in range(first, first + count):
        fd = os.open(str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600, dir_fd=locks)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, fd
        except BlockingIOError:
            os.close(fd)
    raise OSError(f"all {count} worker uids from {first} are in use")


# ----------------------------------------------------------------------------- the worker
def _worker(sock: socket.socket, cfg: dict, uid: int) -> None:
    import resource
    import signal
    import traceback

    import numpy as np

    isolated = cfg["isolate"]
    limits = cfg["limits"]
    os.setsid()
    if isolated:
        # Its own mount table (a copy of the zygote's allowlist root): a private empty /tmp, and a
        # /proc that shows only its own PID namespace.
        _unshare(CLONE_NEWNS)
        _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
        if cfg.get("pidns"):
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        for d in ("/tmp", "/dev/shm", "/var/tmp"):
            if os.path.isdir(d):
                # Allowlisted folders that live under d (a checkout or venv under /tmp) would be
                # shadowed by the private scratch: hold them open and bind them back (read-only,
                # with the covers inside them).
                under = [dst for _src, dst in cfg.get("binds") or []
                         if cfg.get("rooted") and dst.startswith(d + "/")]
                held = [(os.open(dst, os.O_PATH | os.O_CLOEXEC), dst) for dst in under
                        if os.path.exists(dst)]
                _mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV,
                       f"size={limits['scratch_mb']}m,mode=700,uid={uid},gid={uid}")
                for fd, dst in held:
                    if os.path.isdir(f"/proc/self/fd/{fd}"):
                        target = _mkdirs("/", dst)
                    else:
                        target = os.path.join(_mkdirs("/", os.path.dirname(dst)), os.path.basename(dst))
                        open(target, "w").close()
                    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC, None)
                    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                           None)
                    os.close(fd)
        scratch = "/tmp"
    else:
        import tempfile

        scratch = tempfile.mkdtemp(prefix=f"ag-worker-{os.getpid()}-")
    os.chdir(scratch)
    # stdout/stderr of the student's code go to a capped file (RLIMIT_FSIZE below).
    out_path = os.path.join(scratch, ".output")
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if isolated:
        os.chown(out_path, uid, uid)

    def setlim(which, soft, hard=None):
        try:
            resource.setrlimit(which, (soft, soft if hard is None else hard))
            return True
        except (ValueError, OSError):
            return False

    # Address space: what is mapped now (numpy, the interpreter) plus the allowance.
    with open("/proc/self/statm") as f:
        vm_now = int(f.read().split()[0]) * resource.getpagesize()
    setlim(resource.RLIMIT_AS, vm_now + limits["memory_mb"] * (1 << 20))
    setlim(resource.RLIMIT_CPU, limits["cpu_total_s"])
    setlim(resource.RLIMIT_FSIZE, limits["output_bytes"])
    setlim(resource.RLIMIT_CORE, 0)
    setlim(resource.RLIMIT_NOFILE, 64)
    setlim(resource.RLIMIT_NPROC, limits["nproc"])
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # PID 1 of a namespace ignores signals it has no handler for: the limits' signals must still
    # end the worker, as they end any other process.
    for sig in (signal.SIGXCPU, signal.SIGXFSZ):
        signal.signal(sig, lambda *_: os._exit(9))
    if isolated:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        try:
            _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
        except OSError:
            pass
    # A change of uid clears the parent-death signal: ask again, then check that the keeper did
    # not die in between (its end of the pipe would be closed).
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if cfg.get("alive_fd") is not None:
        import select

        if select.select([cfg["alive_fd"]], [], [], 0)[0]:
            os._exit(0)
        os.close(cfg["alive_fd"])

    os.close(cfg["diag_fd"])   # setup is over: the student's code must not reach the judge's stderr
    # Everything the worker itself needs is bound now, before student code can patch anything.
    _asarray, _isfinite_dtype = np.asarray, (np.floating, np.integer, np.bool_)
    _generic, _ndarray = np.generic, np.ndarray
    _rng = np.random.default_rng
    _send, _recv = send_msg, recv_msg
    _getrusage, _setrlimit, _RCPU = resource.getrusage, resource.setrlimit, resource.RLIMIT_CPU
    _isinstance, _len, _str, _type = isinstance, len, str, type
    _fmt_exc = traceback.format_exception_only
    from time import perf_counter as _perf
    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    # A float overflow raises (FloatingPointError) instead of warning: the hidden cases with
    # inputs of about +-1000 then fail an exp-based sigmoid/softmax that is not numerically stable.
    np.seterr(over="raise")
    handles: dict[int, object] = {}
    fixtures: dict = {"__name__": "fixtures", "__builtins__": __builtins__}

    def output_tail() -> str:
        try:
            with open(out_path, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - 800))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def decode(tree, arrays):
        if _isinstance(tree, dict):
            if "$a" in tree:
                return arrays[tree["$a"]]
            if "$h" in tree:
                return handles[tree["$h"]]
            if "$ret" in tree:
                i, k = tree["$ret"]
                if i not in batch:
                    raise RuntimeError("the call this one depends on failed")
                return handles[batch[i][k]["$h"]]
            if "$rng" in tree:
                return _rng(tree["$rng"])
            if "$fn" in tree:
                return fixtures[tree["$fn"]]
            if "$d" in tree:
                return {k: decode(v, arrays) for k, v in tree["$d"].items()}
            if "$t" in tree:
                return tuple(decode(v, arrays) for v in tree["$t"])
        if _isinstance(tree, list):
            return [decode(v, arrays) for v in tree]
        return tree

    def encode(obj, arrays, depth=0, plain=False):
        """Turn a result into a JSON tree of plain arrays; anything else becomes an error leaf.
        ``plain``: numbers stay numbers (arguments of a dependency call)."""
        if depth > 4:
            return {"$err": "nested too deeply"}
        if _type(obj) in (tuple, list):
            return [encode(v, arrays, depth + 1, plain) for v in obj]
        if _type(obj) is dict:
            return {"$d": {_str(k): encode(v, arrays, depth + 1, plain) for k, v in obj.items()}}
        if plain and (_type(obj) in (int, float, bool) or _isinstance(obj, _generic)):
            return obj.item() if _isinstance(obj, _generic) else obj
        if _type(obj) in (int, float, bool) or _isinstance(obj, (_ndarray, _generic)):
            try:
                a = _asarray(obj)
                if a.dtype.kind == "f":
                    if a.dtype != "<f4":    # float32 stays float32: the judge grades its precision
                        a = a.astype("<f8")
                elif a.dtype.kind in "iu":
                    a = a.astype("<i8")
                elif a.dtype.kind == "b":
                    a = a.astype("|b1")
                else:
                    return {"$err": f"array of dtype {a.dtype}"}
                arrays.append(a)
                return {"$a": _len(arrays) - 1}
            except Exception as e:  # noqa: BLE001 - anything odd is reported, not trusted
                return {"$err": f"not convertible to an array ({_type(e).__name__})"}
        if obj is None:
            return None
        return {"$err": f"a {_type(obj).__name__}, not a numpy array"}

    state = {"next_handle": 0, "dep_t": 0.0}
    batch: dict[int, object] = {}
    raises = {"ValueError": ValueError, "TypeError": TypeError, "IndexError": IndexError,
              "KeyError": KeyError, "ZeroDivisionError": ZeroDivisionError}

    def make_proxy(name: str):
        """A stand-in for a graded function: its arguments go to the judge, which answers with the
        reference's outputs as plain arrays (or the reference's error, raised here)."""
        def proxy(*args, **kwargs):
            out: list = []
            head = {"dep": name, "args": encode(list(args), out, plain=True),
                    "kwargs": encode(dict(kwargs), out, plain=True)}
            t0 = _perf()
            _send(sock, head, out)
            reply, got = _recv(sock)
            state["dep_t"] += _perf() - t0
            state["dep_n"] += 1
            if reply.get("ok"):
                return decode(reply.get("result"), got)
            raise raises.get(reply.get("etype"), RuntimeError)(_str(reply.get("error", "failed")))
        proxy.__name__ = proxy.__qualname__ = name
        return proxy

    def error_reply(e: BaseException) -> dict:
        try:
            msg = "".join(_fmt_exc(_type(e), e)).strip()
        except BaseException:  # noqa: BLE001
            msg = "an exception that could not be printed"
        frames, tb = [], e.__traceback__          # the student's functions it passed through
        while tb is not None and _len(frames) < 50:
            if tb.tb_frame.f_code.co_filename != "<string>":
                frames.append(_str(tb.tb_frame.f_code.co_name))
            tb = tb.tb_next
        return {"ok": False, "error": msg[-400:], "exit": _isinstance(e, SystemExit),
                "frames": frames[-20:]}

    saved_none = object()

    def do_call(req: dict, arrays: list) -> tuple[dict, list]:
        fn = namespace.get(req["fn"])
        if not callable(fn):
            return {"ok": False, "error": f"{req['fn']} is not defined"}, []
        args = decode(req["args"], arrays)
        used = _getrusage(0).ru_utime + _getrusage(0).ru_stime
        try:
            _setrlimit(_RCPU, (int(used) + 1 + limits["cpu_s"], limits["cpu_total_s"]))
        except (ValueError, OSError):
            pass
        # "proxy": graded functions answered by the judge during this call (graded alone).
        saved = {name: namespace.get(name, saved_none) for name in req.get("proxy", ())}
        for name in saved:
            namespace[name] = make_proxy(name)
        state["dep_t"], state["dep_n"] = 0.0, 0
        try:
            t_start = _perf()
            result = fn(*args)
            t_spent = _perf() - t_start - state["dep_t"]
        finally:
            for name, old in saved.items():
                if old is saved_none:
                    namespace.pop(name, None)
                else:
                    namespace[name] = old
        keep = req.get("keep", [])
        sig = None
        if keep:
            if _type(result) not in (tuple, list) or _len(result) <= max(keep):
                return {"ok": False, "error": "returned fewer values than expected"}, []
            result = list(result)
            if req.get("sig"):
                sig = [cache_signature(result[i]) for i in keep]
            kept = {}
            for i in keep:
                handles[state["next_handle"]] = result[i]
                kept[i] = {"$h": state["next_handle"]}
                result[i] = None
                state["next_handle"] += 1
        out_arrays: list = []
        tree = encode(result, out_arrays)
        if keep:
            for i, h in kept.items():
                tree[i] = h
        echo = None
        if req.get("echo"):
            # Echo only what the judge sent (not objects that live here, such as caches).
            sent = [None if _isinstance(t, dict) and ("$h" in t or "$ret" in t or "$t" in t) else a
                    for t, a in zip(req["args"], args, strict=False)]
            echo = encode(sent, out_arrays)
        return {"ok": True, "result": tree, "echo": echo, "t": t_spent, "sig": sig,
                "deps": state["dep_n"]}, out_arrays

    while True:
        try:
            req, arrays = _recv(sock)
        except EOFError:
            os._exit(0)
        op = req.get("op")
        try:
            if op == "load":
                errors = []
                for label, code in req["chunks"]:
                    try:
                        exec(compile(code, label, "exec"), namespace)
                    except BaseException as e:  # noqa: BLE001 - a failing cell is reported
                        errors.append([label, "".join(_fmt_exc(_type(e), e)).strip()[-300:]])
                _send(sock, {"ok": True, "errors": errors, "stdout": output_tail()})
            elif op == "files":
                # The submission's folder, copied into the private scratch cwd (names checked by
                # the judge: relative, no "..").
                for name, data in zip(req["names"], arrays, strict=True):
                    os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
                    with open(name, "wb") as f:
                        f.write(data.tobytes())
                _send(sock, {"ok": True})
            elif op == "fixtures":
                exec(compile(req["source"], "<grader fixtures>", "exec"), fixtures)
                _send(sock, {"ok": True})
            elif op == "call":
                header, out_arrays = do_call(req, arrays)
                _send(sock, header, out_arrays)
            elif op == "calls":
                # Several calls in one message (fewer round trips); one answer per call, in
                # order. {"$ret": [i, k]} in the arguments is output k of call i of this batch.
                batch.clear()
                for i, call in enumerate(req["calls"]):
                    try:
                        header, out_arrays = do_call(call, arrays)
                    except BaseException as e:  # noqa: BLE001 - reported, the batch goes on
                        header, out_arrays = error_reply(e), []
                    if header.get("ok"):
                        batch[i] = header["result"]
                    _send(sock, header, out_arrays)
            else:
                _send(sock, {"ok": False, "error": f"unknown op {op!r}"})
        except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
            try:
                _send(sock, error_reply(e))
            except BaseException:  # noqa: BLE001
                os._exit(3)


# ----------------------------------------------------------------------------- the zygote
def _zygote(ctrl_fd: int, cfg: dict) -> None:
    import signal

    if cfg.get("pdeathsig"):
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != cfg["judge_pid"]:
        os._exit(0)                         # the judge died before we could ask to die with it
    applied, missing = [], []

    def report(name: str, error: str | None) -> None:
        text = PROTECTIONS[name].format(**cfg)
        (applied if error is None else missing).append(text if error is None else
                                                       f"{text} [not applied: {error}]")

    report("pdeathsig", None)
    # The folder the judge made for us (libdir, in the host's /tmp): removed when we exit, even if
    # the judge was killed. Held open now: the host's /tmp is out of reach once the root is built.
    libdir = cfg.get("libdir") or ""
    host_tmp = os.open(os.path.dirname(libdir) or "/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    # Orphaned workers (their keeper killed) become our children, so we can wait for them.
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    locks = -1
    if cfg["isolate"]:
        try:
            _unshare(CLONE_NEWNS | CLONE_NEWNET)
            _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
            report("network", None)
        except OSError as e:
            cfg["isolate"] = False
            report("network", f"namespaces unavailable ({e})")
    if cfg["isolate"]:
        try:
            os.makedirs(UID_LOCKS, mode=0o700, exist_ok=True)
            locks = os.open(UID_LOCKS, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            report("uid", None)
        except OSError as e:
            cfg["isolate"] = False
            report("uid", str(e))
    if cfg["isolate"]:
        try:
            _build_root(cfg["root"], cfg["binds"], cfg["covers"])
            _pivot(cfg["root"])
            sys.path[:] = cfg["sys_path"]
            cfg["rooted"] = True
            report("root", None)
        except OSError as e:
            report("root", str(e))      # the worker keeps the host's files: say so
        report("pidns", None)
        report("scratch", None)
    else:
        for name in ("network", "uid", "root", "pidns", "scratch"):
            if not any(PROTECTIONS[name].format(**cfg) in m for m in applied + missing):
                report(name, "needs root" if os.geteuid() else "isolation turned off")
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"})
    if not cfg.get("rooted"):
        # The student-visible import path: the standard library, site-packages, course_helpers.
        sys.path[:] = [p for p in sys.path if p and not any(
            p == h or p.startswith(h + "/") for h in cfg["hide"])]
        if cfg.get("libdir"):
            sys.path.insert(0, cfg["libdir"])
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()
                        and "editable" not in getattr(f, "__name__", "").lower()]
    import importlib

    importlib.invalidate_caches()
    import fcntl  # noqa: F401 - everything a worker imports is preloaded: forks stay cheap
    import resource  # noqa: F401
    import select
    import tempfile  # noqa: F401
    import traceback  # noqa: F401

    import numpy
    import numpy.random  # noqa: F401

    numpy.random.default_rng(0)

    ctrl = socket.socket(fileno=ctrl_fd)
    diag_fd = os.dup(2)
    cfg["diag_fd"] = diag_fd
    send_msg(ctrl, {"ok": True, "applied": applied, "missing": missing,
                    "isolated": cfg["isolate"], "rooted": bool(cfg.get("rooted"))})
    me = os.getpid()
    keepers: dict[int, int] = {}            # worker pid -> keeper pid
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctrl, 1 << 16, 4)
        except OSError:
            break
        if not msg:
            break
        req = json.loads(msg)
        if req["op"] == "spawn":
            try:
                uid, claim = _claim_uid(locks, *cfg["uids"]) if cfg["isolate"] else (None, -1)
            except OSError as e:
                os.close(fds[0])
                ctrl.sendall(json.dumps({"error": str(e)}).encode())
                continue
            alive_r, alive_w = os.pipe()    # EOF here tells the worker its keeper is gone
            info_r, info_w = os.pipe()      # the keeper writes the worker's pid here
            keeper = os.fork()
            if keeper == 0:
                ctrl.close()
                os.close(info_r)
                _keeper(me, dict(cfg, limits=req["limits"]), fds[0], uid, claim,
                        (alive_r, alive_w), info_w, select.select)
            for fd in (fds[0], alive_r, alive_w, info_w, claim):
                if fd >= 0:
                    os.close(fd)
            text = os.read(info_r, 32)      # one write by the keeper, or EOF if it died
            os.close(info_r)
            pid = int(text) if text.isdigit() else 0
            if pid:
                keepers[pid] = keeper
                ctrl.sendall(json.dumps({"pid": pid, "uid": uid}).encode())
            else:
                _reap(keeper)
                ctrl.sendall(json.dumps({"error": "the worker could not be started"}).encode())
        elif req["op"] == "kill":
            pid = req["pid"]
            keeper = keepers.pop(pid, None)
            if keeper:
                # The keeper kills the worker, PID 1 of its namespace, which takes every process
                # in it along; the keeper exits once it has reaped the worker, that is once the
                # namespace is empty. (Should the keeper die first, we reap the worker: subreaper.)
                os.kill(keeper, signal.SIGTERM)
                _reap(keeper)
                if pid not in keepers.values():     # a recycled pid is not our worker
                    try:        # the worker is ours only if its keeper died first (subreaper)
                        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                        os.kill(pid, signal.SIGKILL)
                        _reap(pid)
                    except ChildProcessError:
                        pass
            if not cfg["isolate"]:
                import glob
                import shutil

                for d in glob.glob(f"/tmp/ag-worker-{pid}-*"):
                    shutil.rmtree(d, ignore_errors=True)
            ctrl.sendall(b'{"ok": true}')
        else:
            ctrl.sendall(b'{"ok": false}')
    # The judge is gone (closed or killed): exiting kills every keeper, hence every worker.
    name = os.path.basename(libdir)
    if name.startswith("ag-lib-"):
        for path, remove in ((f"{name}/course_helpers", os.unlink), (name, os.rmdir)):
            try:
                remove(path, dir_fd=host_tmp)
            except OSError:
                pass
    os._exit(0)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _keeper(zygote_pid: int, cfg: dict, sock_fd: int, uid: int | None, claim: int,
            alive: tuple[int, int], info_w: int, select) -> None:
    """Holds the worker's uid claim and waits for it; forks the worker as PID 1 of a new PID
    namespace. Never returns."""
    import signal

    worker = {"pid": 0}

    def end_worker(*_):
        # SIGTERM (from the zygote, or its death): kill the worker, which takes its PID namespace
        # along, then wait for it below. Not left to the worker's own PR_SET_PDEATHSIG, which
        # student code could clear.
        if not worker["pid"]:
            return
        try:    # still our unreaped child (alive or a zombie), so its pid is not someone else's
            os.waitid(os.P_PID, worker["pid"], os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        os.kill(worker["pid"], signal.SIGKILL)

    try:
        signal.signal(signal.SIGTERM, end_worker)
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != zygote_pid:
            os._exit(0)
        cfg["pidns"] = False
        if cfg["isolate"]:
            _unshare(CLONE_NEWPID)
            cfg["pidns"] = True
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})   # until worker["pid"] is set
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                os.close(alive[1])
                if select([alive[0]], [], [], 0)[0]:
                    os._exit(0)             # the keeper died before we could ask to die with it
                # Nothing the zygote holds (the uid claim, the lock folder) reaches student code.
                keep = sorted({sock_fd, cfg["diag_fd"], alive[0]})
                for low, high in zip([2, *keep], [*keep, 1 << 20], strict=True):
                    os.closerange(low + 1, high)
                cfg["alive_fd"] = alive[0]
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _worker(socket.socket(fileno=sock_fd), cfg, uid)
            except BaseException:  # noqa: BLE001 - setup failed: tell the judge's stderr
                import traceback

                os.write(cfg["diag_fd"], traceback.format_exc().encode())
            finally:
                os._exit(4)
        worker["pid"] = pid
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        os.write(info_w, str(pid).encode())
        os.close(info_w)
        os.close(sock_fd)
        _reap(pid)
    finally:
        os._exit(0)


if __name__ == "__main__":
    _zygote(int(sys.argv[1]), json.loads(sys.argv[2]))
