"""The true/false words of a flag, read the same by options (settings.py) and engine
knobs (engines/knobs.py). Imports nothing."""

from __future__ import annotations

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def parse_flag(raw: object) -> bool | None:
    """A true/false word as a bool: 1/0, true/false, yes/no, on/off in any case, blank is
    false, a bool is itself; None for anything else."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None
