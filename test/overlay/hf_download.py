"""Downloads a repo into HF_HUB_CACHE the way huggingface_hub's
snapshot_download / hf_hub_download do, step for step, for machines where
the real package is not installed (python3 -c "import huggingface_hub"
fails; PyPI is not reachable here). With huggingface_hub importable, the
test runs the real snapshot_download instead.

What huggingface_hub does and this does alike (file_download.py,
_hf_hub_download_to_cache_dir):
  - repo info (GET /api/models/<repo>/revision/<rev>): the commit and siblings;
    refs/<rev> gets the commit (no newline) when rev is not the commit itself;
  - per file: HEAD .../resolve/<commit>/<path> for the etag (X-Linked-Etag
    for LFS files, else ETag: the git blob sha1), quotes stripped;
  - if snapshots/<commit>/<path> exists: done; if blobs/<etag> exists: only
    the relative symlink;
  - else lock .locks/<repo folder>/<etag>.lock, GET into
    blobs/<etag>.incomplete (Range from its size to resume), chmod to the
    umask's mode, move to blobs/<etag>, then the symlink
    snapshots/<commit>/<path> -> ../../blobs/<etag> (one more ../ a subfolder).

usage: HF_HUB_CACHE=<dir> python3 hf_download.py <endpoint> <repo_id> [--only a,b] [--stop-after-bytes N]
--only downloads only those files (a partial snapshot, as --include makes);
--stop-after-bytes dies after writing N bytes of the first file it
downloads (an interrupted download: the .incomplete stays, exit 3).
"""
import fcntl
import json
import os
import shutil
import sys
import urllib.request

endpoint, repo_id = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
only = None
stop_after = None
while args:
    if args[0] == "--only":
        only = set(args[1].split(","))
        args = args[2:]
    elif args[0] == "--stop-after-bytes":
        stop_after = int(args[1])
        args = args[2:]
    else:
        sys.exit("unknown option " + args[0])

cache = os.environ["HF_HUB_CACHE"]
revision = "main"
folder_name = "models--" + repo_id.replace("/", "--")
storage = os.path.join(cache, folder_name)
locks = os.path.join(cache, ".locks", folder_name)

with urllib.request.urlopen(f"{endpoint}/api/models/{repo_id}/revision/{revision}") as r:
    info = json.load(r)
commit = info["sha"]
files = [s["rfilename"] for s in info["siblings"] if only is None or s["rfilename"] in only]


def cache_ref():
    if revision == commit:
        return
    ref = os.path.join(storage, "refs", revision)
    os.makedirs(os.path.dirname(ref), exist_ok=True)
    if not os.path.exists(ref) or open(ref).read() != commit:
        with open(ref, "w") as f:
            f.write(commit)


def umask_mode():
    um = os.umask(0)
    os.umask(um)
    return 0o666 & ~um


def symlink(blob, pointer):
    rel = os.path.relpath(os.path.abspath(blob), os.path.dirname(os.path.abspath(pointer)))
    os.symlink(rel, pointer)


cache_ref()
for path in files:
    url = f"{endpoint}/{repo_id}/resolve/{commit}/{path}"
    head = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(head) as r:
        etag = (r.headers.get("X-Linked-Etag") or r.headers.get("ETag")).replace("W/", "").strip('"')
    blob = os.path.join(storage, "blobs", etag)
    pointer = os.path.join(storage, "snapshots", commit, path)
    os.makedirs(os.path.dirname(blob), exist_ok=True)
    os.makedirs(os.path.dirname(pointer), exist_ok=True)
    cache_ref()
    if os.path.exists(pointer):
        continue
    if os.path.exists(blob):
        symlink(blob, pointer)
        continue
    os.makedirs(locks, exist_ok=True)
    with open(os.path.join(locks, etag + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        incomplete = blob + ".incomplete"
        have = os.path.getsize(incomplete) if os.path.exists(incomplete) else 0
        req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        with urllib.request.urlopen(req) as r, open(incomplete, "ab") as out:
            while True:
                chunk = r.read(1 << 16)
                if not chunk:
                    break
                if stop_after is not None and out.tell() + len(chunk) >= stop_after:
                    out.write(chunk[: stop_after - out.tell()])
                    out.flush()
                    os._exit(3)
                out.write(chunk)
        os.chmod(incomplete, umask_mode())
        shutil.move(incomplete, blob)
        if not os.path.exists(pointer):
            symlink(blob, pointer)
print(json.dumps({"commit": commit, "files": files}))
