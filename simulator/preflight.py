"""`python -m simulator.preflight PORT=8000 SIMULATOR_PORT=8765`: exit 1 with one line if a port is busy.

`make run` calls it before honcho starts: a process that cannot bind its port would otherwise stop every
process with a traceback. Each argument is VARIABLE=port, so the line names what to set.
"""

from __future__ import annotations

import sys

from simulator.ports import busy_message, port_free


def main(argv: list[str] | None = None) -> int:
    for item in argv if argv is not None else sys.argv[1:]:
        variable, _, value = item.partition("=")
        if not value.isdigit():
            print(f"preflight: expected VARIABLE=port, got {item!r}", file=sys.stderr)
            return 2
        if not port_free(int(value)):
            print(busy_message(int(value), variable), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
