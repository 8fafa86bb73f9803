"""Takes an exclusive flock on argv[1] the way huggingface_hub's FileLock
does (fcntl.flock), prints "locked", and holds it until stdin closes.
With --try: tries LOCK_EX|LOCK_NB once; exits 0 if it got it, 1 if held."""
import fcntl
import os
import sys

path = sys.argv[-1]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
if "--try" in sys.argv:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(1)
    sys.exit(0)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
