"""A process that takes the lake's writer lock, for the lock tests.

``python -m tests.lakehouse.storage.lock_holder LAKE [--wait S] [--lease S] [--log FILE --hold S]``
prints one JSON line when it holds the lock (its pid, the pid of the dead holder it replaced),
then either holds it until its standard input closes or, with ``--log``, appends ``start PID``,
sleeps ``--hold`` seconds, appends ``end PID`` and releases. Locked out, it exits with the lock's
exit code and the message on stderr, as the CLI does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from lakehouse.storage.lock import LakeLockedError, lake_lock


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("lake")
    parser.add_argument("--command", default="test holder")
    parser.add_argument("--wait", type=float, default=0.0)
    parser.add_argument("--lease", type=float, default=60.0)
    parser.add_argument("--log")
    parser.add_argument("--hold", type=float, default=0.0)
    args = parser.parse_args()
    try:
        with lake_lock(args.lake, args.command, wait=args.wait, lease_seconds=args.lease) as held:
            broken = held.broken.pid if held.broken else None
            print(json.dumps({"pid": os.getpid(), "broken": broken}), flush=True)
            if args.log:
                with open(args.log, "a") as log:
                    log.write(f"start {os.getpid()}\n")
                time.sleep(args.hold)
                with open(args.log, "a") as log:
                    log.write(f"end {os.getpid()}\n")
            else:
                sys.stdin.read()
            held.ensure_held()
    except LakeLockedError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
