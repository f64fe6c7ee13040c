"""MCPB entry point: run ``channel-mcp serve`` from the dependencies bundled in ``server/lib``.

The bundle host starts ``python server/main.py --sandbox=<true|false>`` (see ``manifest.json``).
MCPB cannot add or drop an argument based on a user setting, so the sandbox toggle arrives as
one ``--sandbox=`` value and is turned into the CLI's plain ``--sandbox`` flag here.
"""

from __future__ import annotations

import sys
from pathlib import Path

_LIB = Path(__file__).resolve().parent / "lib"


def build_argv(argv: list[str]) -> list[str]:
    """Translate the launcher's arguments into ``channel-mcp`` CLI arguments."""
    sandbox = False
    for arg in argv:
        if arg.startswith("--sandbox="):
            sandbox = arg.partition("=")[2].strip().lower() in {"1", "true", "yes", "on"}
        else:
            raise SystemExit(f"server/main.py: unexpected argument {arg!r}")
    return ["channel-mcp", "serve", *(["--sandbox"] if sandbox else [])]


def main() -> None:
    # PYTHONPATH already points here when the host honours mcp_config.env; this covers hosts that don't.
    if _LIB.is_dir() and str(_LIB) not in sys.path:
        sys.path.insert(0, str(_LIB))
    sys.argv = build_argv(sys.argv[1:])
    from channel_mcp.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
