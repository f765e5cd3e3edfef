"""Start-up checks of the options that name things: prompt presets (--tts-prompts),
sweep axes (--tts-sweep) and the fidelity reference (--tts-reference). Pure: no pytest.

Each is checked only when given, so a run without them reads no preset file. A bad value
raises ValueError (SettingsError or PromptError) with the valid form; the plugin turns
it into a usage error (exit 4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_ttsbench.settings import Settings


def check(settings: Settings) -> None:
    """Raise ValueError for a bad --tts-prompts, --tts-sweep or --tts-reference."""
    if settings.prompts:
        from pytest_ttsbench.measure import prompts

        prompts.validate(settings.prompts)
    if settings.sweep:
        from pytest_ttsbench.sweeps import sweep_points

        sweep_points(settings.sweep, None)
    if settings.reference:
        from pytest_ttsbench.reference_spec import parse

        parse(settings.reference, "--tts-reference")
