"""``make bench``: runs every benchmark in bench/ and writes bench/RESULTS.md."""

from __future__ import annotations

import sys


def main() -> int:
    print("bench: nothing to measure yet - the benchmark suite has not landed (issue #7).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
