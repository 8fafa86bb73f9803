"""A backend-shaped loader: resolves a model the way huggingface_hub does in
offline mode (HF_HUB_OFFLINE=1), by repo id alone, from HF_HUB_CACHE:
refs/<revision> -> snapshots/<commit>/<file> -> symlink -> blobs/<etag>,
then reads every file. Prints JSON: the commit and, per file, its sha256,
size and the blob it resolved to. Writes nothing (like an offline load).

usage: HF_HUB_CACHE=<dir> python3 hf_offline_load.py <repo_id> [revision]
"""
import hashlib
import json
import os
import sys

cache = os.environ["HF_HUB_CACHE"]
assert os.environ.get("HF_HUB_OFFLINE") == "1", "run with HF_HUB_OFFLINE=1"
repo_id = sys.argv[1]
revision = sys.argv[2] if len(sys.argv) > 2 else "main"
folder = os.path.join(cache, "models--" + repo_id.replace("/", "--"))
with open(os.path.join(folder, "refs", revision)) as f:
    commit = f.read()
snapshot = os.path.join(folder, "snapshots", commit)
blobs = os.path.realpath(os.path.join(folder, "blobs"))
files = {}
for dirpath, dirnames, filenames in os.walk(snapshot):
    dirnames.sort()
    for name in sorted(filenames):
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, snapshot)
        real = os.path.realpath(path)
        h = hashlib.sha256()
        size = 0
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
                size += len(chunk)
        files[rel] = {
            "sha256": h.hexdigest(),
            "size": size,
            "blob": os.path.basename(real) if os.path.dirname(real) == blobs else None,
        }
print(json.dumps({"commit": commit, "files": files}))
