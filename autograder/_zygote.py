"""The sandbox side of the grader: a clean "zygote" process that forks one worker per submission.

This file is run as ``python -I -c <this source>`` by the judge, so it imports nothing from the
``autograder`` package and never sees ``solutions``. The judge also imports it as a module, for
the wire format (``send_msg`` / ``recv_msg``) that both sides share.

Life of the zygote (started once per judge, never runs student code):
1. (as root) unshare a mount and a network namespace, hide the course repository, the references,
   the hidden tests, the gradebook and the results under empty read-only tmpfs mounts;
2. import numpy once (with one BLAS thread), so a forked worker starts in about a millisecond;
3. on request, fork a worker for one submission and hand it a socket to the judge.

Life of a worker (one submission; replaced by a fresh one after a crash or a timeout):
1. new mount namespace with a private empty /tmp (its scratch directory and working directory),
   /dev/shm and /var/tmp; stdout and stderr go to a size-capped file in it;
2. resource limits (address space, CPU time, processes, file size, core dumps), then drop to a
   uid of its own with no groups and no new privileges;
3. serve requests: "load" executes the extracted notebook code, "call" runs one function on plain
   arrays and sends plain arrays back. Objects stay in the worker; the judge gets handles.

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
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38


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


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    def enc(s):
        return s.encode() if s is not None else None

    _check(_libc().mount(enc(src), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _hide(path: str) -> None:
    """Cover a directory by an empty read-only tmpfs, or a file by /dev/null."""
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
               "size=4k,mode=000")
    else:
        _mount("/dev/null", path, None, MS_BIND, None)


def _expose(path: str) -> bool:
    """Make ``path`` reachable for an unprivileged uid inside our mount namespace.

    The interpreter may live under a private home (pyenv in /root, mode 700). For the first
    ancestor others cannot enter, mount a fresh tmpfs over it and bind the needed child back,
    which also hides everything else in that home.
    """
    parts = os.path.abspath(path).strip("/").split("/")
    changed = False
    for depth in range(1, len(parts)):
        anc = "/" + "/".join(parts[:depth])
        if os.stat(anc).st_mode & 0o001:
            continue
        child = parts[depth]
        fd = os.open(os.path.join(anc, child), os.O_PATH)
        try:
            _mount("tmpfs", anc, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k,mode=755")
            os.mkdir(os.path.join(anc, child), 0o755)
            _mount(f"/proc/self/fd/{fd}", os.path.join(anc, child), None, MS_BIND | MS_REC, None)
            _mount(None, anc, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | 32, None)  # remount ro
        finally:
            os.close(fd)
        changed = True
    return changed


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
        # A private mount namespace: an empty /tmp of our own, nobody else's scratch visible.
        _unshare(CLONE_NEWNS)
        _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
        for d in ("/tmp", "/dev/shm", "/var/tmp"):
            if os.path.isdir(d):
                _mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV,
                       f"size={limits['scratch_mb']}m,mode=700,uid={uid},gid={uid}")
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
    if isolated:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        try:
            _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
        except OSError:
            pass

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
        state["dep_t"] = 0.0
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
        return {"ok": True, "result": tree, "echo": echo, "t": t_spent, "sig": sig}, out_arrays

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

    applied, missing = [], []
    if cfg["isolate"]:
        try:
            _unshare(CLONE_NEWNS | CLONE_NEWNET)
            _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
            applied.append("network namespace without interfaces (no network)")
        except OSError as e:
            cfg["isolate"] = False
            missing.append(f"namespaces unavailable ({e}): network and files not isolated")
        if cfg["isolate"]:
            hidden = []
            for p in sorted(set(cfg["hide"]), key=len):
                if not os.path.exists(p) or any(p == h or p.startswith(h + "/") for h in hidden):
                    continue
                try:
                    _hide(p)
                    hidden.append(p)
                except OSError as e:
                    missing.append(f"could not hide {p}: {e}")
            for needed in {sys.base_prefix, sys.prefix, os.path.realpath(sys.executable)}:
                try:
                    if _expose(needed):
                        applied.append(f"private home covered; only {needed} exposed")
                except OSError as e:
                    missing.append(f"could not expose {needed}: {e}")
            applied.append(f"{len(hidden)} paths hidden (references, hidden tests, course, "
                           "gradebook, results)")
            applied.append("private /tmp per worker; unprivileged uid per worker; no new privileges")
    else:
        missing.append("not root: no network namespace, no uid switch, files readable")
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"})
    # The student-visible import path: the standard library, site-packages, and course_helpers.
    sys.path[:] = [p for p in sys.path if p and not any(
        p == h or p.startswith(h + "/") for h in cfg["hide"])]
    if cfg.get("libdir"):
        sys.path.insert(0, cfg["libdir"])
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()
                        and "editable" not in getattr(f, "__name__", "").lower()]
    import resource  # noqa: F401 - everything a worker imports is preloaded: forks stay cheap
    import tempfile  # noqa: F401
    import traceback  # noqa: F401

    import numpy
    import numpy.random  # noqa: F401

    numpy.random.default_rng(0)

    ctrl = socket.socket(fileno=ctrl_fd)
    diag_fd = os.dup(2)
    cfg["diag_fd"] = diag_fd
    send_msg(ctrl, {"ok": True, "applied": applied, "missing": missing,
                    "isolated": cfg["isolate"]})
    counter = 0
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctrl, 1 << 16, 4)
        except OSError:
            break
        if not msg:
            break
        req = json.loads(msg)
        if req["op"] == "spawn":
            counter += 1
            uid = cfg["uid_base"] + (counter % 50000)
            pid = os.fork()
            if pid == 0:
                try:
                    ctrl.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    _worker(socket.socket(fileno=fds[0]), dict(cfg, limits=req["limits"]), uid)
                except BaseException:  # noqa: BLE001 - setup failed: tell the judge's stderr
                    import traceback

                    os.write(diag_fd, traceback.format_exc().encode())
                finally:
                    os._exit(4)
            os.close(fds[0])
            ctrl.sendall(json.dumps({"pid": pid, "uid": uid}).encode())
        elif req["op"] == "kill":
            pid = req["pid"]
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            if cfg["isolate"]:
                # Anything the worker left behind under its uid (it cannot fork, but be sure).
                uid = req.get("uid")
                if uid:
                    _kill_uid(uid)
            else:
                import glob
                import shutil

                for d in glob.glob(f"/tmp/ag-worker-{pid}-*"):
                    shutil.rmtree(d, ignore_errors=True)
            ctrl.sendall(b'{"ok": true}')
        else:
            ctrl.sendall(b'{"ok": false}')
    # The judge is gone (closed or killed): remove the import folder it made for the workers.
    libdir = cfg.get("libdir")
    if libdir and os.path.basename(libdir).startswith("ag-lib-"):
        for name in ("course_helpers",):
            try:
                os.unlink(os.path.join(libdir, name))
            except OSError:
                pass
        try:
            os.rmdir(libdir)
        except OSError:
            pass
    os._exit(0)


def _kill_uid(uid: int) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            os.setresuid(uid, uid, uid)
            os.kill(-1, 9)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    _zygote(int(sys.argv[1]), json.loads(sys.argv[2]))
