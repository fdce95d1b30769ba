"""What every benchmark script's command line shares: progress on stderr, the --quiet-wait,
--quick and --json options, and SIGTERM stopping every process as Ctrl-C does."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def add_run_options(parser: argparse.ArgumentParser, *, quiet_wait_before: str, quick: str) -> None:
    """--quiet-wait (waited `quiet_wait_before`), --quick (`quick` says what it shortens) and --json."""
    parser.add_argument("--quiet-wait", type=float, default=None,
                        help=f"{quiet_wait_before}, wait up to this many seconds for other processes on the "
                             "machine to use less than a quarter of a core (120)")
    parser.add_argument("--quick", action="store_true", help=f"a short smoke run ({quick}, 10 s quiet wait)")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as JSON on stdout (the summary goes to stderr)")


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments, --quiet-wait defaulting to 10 s for a --quick run and 120 s otherwise."""
    args = parser.parse_args(argv)
    if args.quiet_wait is None:
        args.quiet_wait = 10.0 if args.quick else 120.0
    return args


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the stack's ExitStack, which stops every process


def stop_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, _terminate)
