"""A stand-in inference backend for the live tests, run in its own mount
namespace (unshare -m --propagation private, as Docker's default rprivate
bind gives a container): it streams a large file over and over, holds an
mmap of it and touches its pages, and opens fresh files every 50 ms, each
checked against its sha256. It reports on stdout, one JSON object a line:

  {"event": "ready"}
  {"event": "slow", "op": ..., "ms": ..., "t": ...}      an operation > 20 ms
  {"event": "error", "op": ..., "path": ..., "error": ..., "t": ...}
  {"event": "appeared", "path": ..., "after_s": ...}     a wanted file read right
  {"event": "missing", "path": ..., "after_s": ...}      not there within its time
  {"event": "summary", ...}                              at the end

Control is by files in --ctl (a host folder: a mount namespace shares the
filesystem): want-<n>.json ({"path", "sha256", "timeout_s"}) asks it to read
a file once it appears; "stop" ends it.

usage: backend.py --ctl DIR --stream FILE SHA256 --open FILE SHA256 [--open ...]
"""
import hashlib
import json
import mmap
import os
import sys
import threading
import time

lock = threading.Lock()
stats = {"stream_passes": 0, "stream_bytes": 0, "opens": 0, "mmap_rounds": 0, "errors": 0, "max_ms": 0.0, "max_op": ""}
stop = threading.Event()


def say(obj):
    with lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def timed(op, ms):
    with lock:
        if ms > stats["max_ms"]:
            stats["max_ms"] = ms
            stats["max_op"] = op
    if ms > 20:
        say({"event": "slow", "op": op, "ms": round(ms, 2), "t": time.time()})


def fail(op, path, err):
    with lock:
        stats["errors"] += 1
    say({"event": "error", "op": op, "path": path, "error": str(err), "t": time.time()})


def streamer(path, want):
    while not stop.is_set():
        h = hashlib.sha256()
        try:
            with open(path, "rb", buffering=0) as f:
                while not stop.is_set():
                    t = time.monotonic()
                    b = f.read(1 << 20)
                    timed("stream-read", (time.monotonic() - t) * 1000)
                    if not b:
                        break
                    h.update(b)
                    with lock:
                        stats["stream_bytes"] += len(b)
            if stop.is_set():
                return
            if h.hexdigest() != want:
                fail("stream", path, "wrong bytes")
            with lock:
                stats["stream_passes"] += 1
        except OSError as e:
            fail("stream", path, e)
            time.sleep(0.05)


def mapper(path, want):
    try:
        f = open(path, "rb")
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as e:
        fail("mmap", path, e)
        return
    size = len(m)
    while not stop.is_set():
        h = hashlib.sha256()
        for off in range(0, size, 1 << 20):
            t = time.monotonic()
            h.update(m[off : off + (1 << 20)])
            timed("mmap-chunk", (time.monotonic() - t) * 1000)
        if h.hexdigest() != want:
            fail("mmap", path, "wrong bytes")
        with lock:
            stats["mmap_rounds"] += 1
        stop.wait(0.2)
    m.close()
    f.close()


def opener(files):
    i = 0
    while not stop.is_set():
        path, want = files[i % len(files)]
        i += 1
        t = time.monotonic()
        try:
            with open(path, "rb") as f:
                b = f.read()
            ms = (time.monotonic() - t) * 1000
            timed("open-read-close", ms)
            if hashlib.sha256(b).hexdigest() != want:
                fail("open", path, "wrong bytes")
            with lock:
                stats["opens"] += 1
        except OSError as e:
            fail("open", path, e)
        stop.wait(0.05)


def wanted(spec):
    t0 = time.monotonic()
    deadline = t0 + spec.get("timeout_s", 5)
    last = None
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with open(spec["path"], "rb") as f:
                b = f.read()
            if hashlib.sha256(b).hexdigest() == spec["sha256"]:
                say({"event": "appeared", "id": spec.get("id"), "path": spec["path"], "after_s": round(time.monotonic() - t0, 3)})
                return
            last = "wrong bytes"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    say({"event": "missing", "id": spec.get("id"), "path": spec["path"], "after_s": round(time.monotonic() - t0, 3), "last": last})


def main():
    args = sys.argv[1:]
    ctl = None
    stream = None
    files = []
    while args:
        a = args.pop(0)
        if a == "--ctl":
            ctl = args.pop(0)
        elif a == "--stream":
            stream = (args.pop(0), args.pop(0))
        elif a == "--open":
            files.append((args.pop(0), args.pop(0)))
    threads = [threading.Thread(target=streamer, args=stream), threading.Thread(target=mapper, args=stream), threading.Thread(target=opener, args=(files,))]
    for th in threads:
        th.start()
    os.chdir("/")
    say({"event": "ready", "pid": os.getpid()})
    seen = set()
    while not os.path.exists(os.path.join(ctl, "stop")):
        for name in sorted(os.listdir(ctl)):
            if name.startswith("want-") and name.endswith(".json") and name not in seen:
                seen.add(name)
                with open(os.path.join(ctl, name)) as f:
                    threading.Thread(target=wanted, args=(json.load(f),)).start()
        time.sleep(0.02)
    stop.set()
    for th in threads:
        th.join()
    with lock:
        summary = dict({"event": "summary"}, **stats)
    say(summary)


main()
