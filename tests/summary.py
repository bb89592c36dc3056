#!/usr/bin/env python3
"""Print one closing line, "N passed, N failed, N skipped", for the meson
test runs in the given build directories (their meson-logs/testlog.json)."""
import json
import sys

counts = {"passed": 0, "failed": 0, "skipped": 0}
for build in sys.argv[1:] or ["build"]:
    try:
        with open(f"{build}/meson-logs/testlog.json") as f:
            for line in f:
                entry = json.loads(line)
                result = entry.get("result", "")
                if result in ("OK", "EXPECTEDFAIL"):
                    counts["passed"] += 1
                elif result == "SKIP":
                    counts["skipped"] += 1
                    print(f"skipped: {build}: {entry.get('name')}")
                else:
                    counts["failed"] += 1
                    print(f"failed: {build}: {entry.get('name')} ({result})")
    except FileNotFoundError:
        print(f"failed: {build}: no test log")
        counts["failed"] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, "
      f"{counts['skipped']} skipped")
