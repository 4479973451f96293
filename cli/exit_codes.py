"""Exit codes of the `nango` command (Nango's where Nango has them)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # any failure of a command without a code of its own; invalid nango.yaml
    USAGE = 2  # bad flags or arguments (reported by the argument parser)
    COMPILE_ERROR = 10
    DEPLOY_ERROR = 11
    DRYRUN_ERROR = 12
    INTERRUPTED = 130  # Ctrl-C
    BROKEN_PIPE = 141  # stdout was closed by its reader (128 + SIGPIPE), as shell tools exit
