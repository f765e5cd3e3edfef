"""Engine knobs: ``--tts-opt`` text and a call's ``opts.extra``, typed and checked, and
the call's length cap turned into an upstream's own length knob.

Imports nothing heavy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import EngineError
from pytest_ttsbench.flag_words import parse_flag

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_ttsbench.engines.base import SynthesisOptions


class Knobs:
    """Engine knobs: the call's ``opts.extra`` over the session's ``--tts-opt`` strings.

    Every getter converts and checks the value and raises EngineError naming the knob,
    the value and what was expected. Keys the engine does not ask for are ignored: a
    ``--tts-opt`` applies to every target that has the knob.
    """

    def __init__(
        self, engine: str, options: Mapping[str, str], extra: Mapping[str, object] | None = None
    ) -> None:
        self.engine = engine
        self.values: dict[str, object] = {**options, **(extra or {})}

    def _bad(self, key: str, value: object, expected: str) -> EngineError:
        return EngineError(f"{self.engine}: knob {key}={value!r}: expected {expected}")

    def given(self, key: str) -> bool:
        return self.values.get(key) not in (None, "")

    def number(
        self,
        key: str,
        default: float,
        *,
        low: float | None = None,
        high: float | None = None,
        above: float | None = None,
    ) -> float:
        value = self.values.get(key)
        if value in (None, ""):
            return default
        try:
            if isinstance(value, bool):
                raise TypeError
            out = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise self._bad(key, value, "a number") from None
        if out != out or out in (float("inf"), float("-inf")):
            raise self._bad(key, value, "a finite number")
        if low is not None and out < low:
            raise self._bad(key, value, f"a number >= {low}")
        if high is not None and out > high:
            raise self._bad(key, value, f"a number <= {high}")
        if above is not None and out <= above:
            raise self._bad(key, value, f"a number > {above}")
        return out

    def integer(self, key: str, default: int, *, low: int | None = None) -> int:
        value = self.values.get(key)
        if value in (None, ""):
            return default
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise self._bad(key, value, "a whole number")
        try:
            out = int(value) if isinstance(value, int | float) else int(str(value).strip())
        except ValueError:
            raise self._bad(key, value, "a whole number") from None
        if low is not None and out < low:
            raise self._bad(key, value, f"a whole number >= {low}")
        return out

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key)
        if value in (None, ""):
            return default
        out = parse_flag(value)
        if out is None:
            raise self._bad(key, value, "on/off, true/false, yes/no or 1/0")
        return out

    def numbers(self, table: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        """The knobs of ``table`` (name -> bounds for ``number``) that were given."""
        return {
            name: self.number(name, 0.0, **bounds)
            for name, bounds in table.items()
            if self.given(name)
        }

    def integers(self, table: Mapping[str, int | None]) -> dict[str, int]:
        """The knobs of ``table`` (name -> lowest allowed value) that were given."""
        return {
            name: self.integer(name, 0, low=low) for name, low in table.items() if self.given(name)
        }

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key)
        return default if value in (None, "") else str(value)

    def path(self, key: str) -> Path | None:
        value = self.values.get(key)
        if value in (None, ""):
            return None
        path = Path(str(value)).expanduser()
        if not path.is_file():
            raise self._bad(key, value, "an existing file")
        return path


S3_TOKENS_PER_S = 25  # Chatterbox's S3 speech tokens per second of audio, every backend


def cap_kwarg(
    kwargs: dict[str, Any], name: str, opts: SynthesisOptions, steps_per_s: float
) -> None:
    """Set the upstream's length limit ``name`` from the call's length cap, in the
    upstream's steps, unless the user gave that knob (it is in ``kwargs`` then)."""
    cap = opts.max_steps(steps_per_s)
    if cap is not None and name not in kwargs:
        kwargs[name] = cap
