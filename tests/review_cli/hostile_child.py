"""A stand-in for a decoder that a hostile file took over: run by tests/review_cli/test_sandbox.py
through review_cli.sandbox.Child, it applies the same limits as review_cli/decoder.py and then
misbehaves as asked (argv[2]), so each guard can be shown to stop it."""

from __future__ import annotations

import json
import os
import resource
import sys
import time

from review_cli.sandbox import Limits, apply_limits


def main(argv: list[str]) -> None:
    apply_limits(Limits.from_json(argv[0]))
    what = argv[1]
    if what == "exit-early":
        sys.exit(0)
    data = sys.stdin.buffer.read()
    if what == "spin":
        while True:
            pass
    elif what == "sleep":
        time.sleep(20)
    elif what == "allocate":
        hog = bytearray(1024 * 1024 * 1024)
        sys.stdout.write(f"allocated {len(hog)}")
    elif what == "write":
        with open(argv[2], "wb") as handle:
            handle.write(data)
            handle.flush()
    elif what == "abort":
        os.abort()
    elif what == "limits":
        names = ("RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE")
        limits = {name: resource.getrlimit(getattr(resource, name)) for name in names}
        sys.stdout.write(json.dumps({"limits": limits, "env": dict(os.environ), "cwd": os.getcwd()}))
    elif what == "echo":
        sys.stdout.buffer.write(data)


if __name__ == "__main__":
    main(sys.argv[1:])
