"""Models x backends x devices x variants -> targets, each with its skip reason.

Every pair is always parametrized (so ``-m cuda`` and ``-rs`` tell the whole story
and xdist workers collect identical ids); options select by deselection. Deciding a
skip imports nothing heavy: ``importlib.util.find_spec``, ``nvidia-smi``, file checks.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ttsbench.engines.base import EngineSpec, WeightsLookup, WeightsQuery
from pytest_ttsbench.results.target import Target

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from pytest_ttsbench.engines.registry import EngineRegistry
    from pytest_ttsbench.matrix.hardware import Hardware
    from pytest_ttsbench.settings import Settings


class SelectionError(ValueError):
    """An unknown model, backend, device or variant; the message lists valid ones."""


@dataclass(frozen=True)
class MatrixEntry:
    target: Target
    spec: EngineSpec
    skip: str | None = None  # the reason, which says how to make it run
    error: str | None = None  # a lookup that crashed: shown as a test error, not hidden
    weights: WeightsLookup | None = None  # what collection found, handed to the engine

    @property
    def marks(self) -> tuple[str, ...]:
        """``-m cuda``, ``-m onnx``, ``-m kokoro`` select as users expect."""
        return (self.target.device, self.target.backend, self.target.model)


def _check_names(kind: str, chosen: Iterable[str] | None, valid: Iterable[str]) -> None:
    if chosen is None:
        return
    valid_list = list(valid)
    unknown = [name for name in chosen if name not in valid_list]
    if unknown:
        raise SelectionError(
            f"unknown {kind} {', '.join(map(repr, unknown))}; valid: "
            f"{', '.join(valid_list)} (or 'all')"
        )


def validate_selection(registry: EngineRegistry, settings: Settings) -> None:
    _check_names("model", settings.models, registry.models())
    _check_names("backend", settings.backends, registry.backends())
    _check_names("device", settings.devices, registry.devices())
    if settings.variants not in (None, ("all",)):
        _check_names("variant", settings.variants, registry.variants())


def why_nothing_selected(registry: EngineRegistry, settings: Settings) -> str:
    """Why --tts-model/--tts-backend/--tts-device/--tts-variant together match no target:
    one clause per selected model, naming what it does have."""
    reasons = []
    for model in settings.models or registry.models():
        specs = [s for s in registry.specs() if s.model == model]
        on_backend = [
            s for s in specs if settings.backends is None or s.backend in settings.backends
        ]
        if not on_backend:
            have = ", ".join(s.backend for s in specs) or "none"
            reasons.append(f"{model} has no backend {_listed(settings.backends)} (has: {have})")
            continue
        for spec in on_backend:
            devices = [d for d in spec.devices if settings.devices is None or d in settings.devices]
            if not devices:
                reasons.append(
                    f"{spec.pair} runs on no device {_listed(settings.devices)} "
                    f"(runs on: {', '.join(spec.devices)})"
                )
            elif not _variants(spec, settings.variants):
                reasons.append(
                    f"{spec.pair} has no variant {_listed(settings.variants)} "
                    f"(variants: {', '.join(spec.variants)})"
                )
    return "; ".join(reasons) or "every selected target was deselected"


def _listed(names: tuple[str, ...] | None) -> str:
    return " or ".join(names) if names else "(any)"


def _variants(spec: EngineSpec, chosen: tuple[str, ...] | None) -> list[str]:
    if chosen is None:
        return [spec.default_variant]
    if chosen == ("all",):
        return list(spec.variants)
    return [v for v in spec.variants if v in chosen]


def targets(registry: EngineRegistry, settings: Settings) -> list[tuple[Target, EngineSpec]]:
    """Every target to parametrize, in a deterministic order."""
    out = []
    for spec in registry.specs():
        for device in spec.devices:
            for variant in _variants(spec, settings.variants):
                target = Target(
                    spec.model,
                    spec.backend,
                    device,
                    variant,
                    default_variant=variant == spec.default_variant,
                )
                out.append((target, spec))
    return out


def is_selected(target: Target, settings: Settings) -> bool:
    return all(
        chosen is None or value in chosen
        for chosen, value in (
            (settings.models, target.model),
            (settings.backends, target.backend),
            (settings.devices, target.device),
        )
    )


def missing_packages(packages: Iterable[str]) -> list[str]:
    missing = []
    for name in packages:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def availability(
    target: Target,
    spec: EngineSpec,
    hardware: Hardware,
    query: WeightsQuery,
    allow_download: bool,
) -> MatrixEntry:
    """Decide, cheaply, whether this machine can run ``target`` and if not, why."""

    def skip(reason: str) -> MatrixEntry:
        return MatrixEntry(target, spec, skip=f"{target.id}: {reason}")

    if spec.unavailable:
        return skip(spec.unavailable)
    missing = missing_packages(spec.packages)
    if missing:
        return skip(
            f"package {', '.join(missing)} not installed; install it with {spec.install_hint()}"
        )
    reason = hardware.device_missing(target.device)
    if reason is None and spec.device_check is not None:
        reason = spec.device_check(target.device)
    if reason:
        return skip(reason)
    try:
        lookup = spec.engine_class().locate_weights(target, query)
    except Exception as exc:  # an adapter bug must show, not hide as a skip
        return MatrixEntry(
            target,
            spec,
            error=(f"{target.id}: looking for weights failed: {type(exc).__name__}: {exc}"),
        )
    if lookup.found or (allow_download and lookup.downloadable):
        return MatrixEntry(target, spec, weights=lookup)
    return skip(not_found_reason(lookup))


def not_found_reason(lookup: WeightsLookup) -> str:
    """Why a target cannot load: its weights were not found (every place searched), or
    they were and something beside them is missing (named as what it is)."""
    hint = lookup.hint.strip()
    if lookup.downloadable and "--tts-allow-download" not in hint:
        hint = f"{hint.rstrip('.')}, or allow a download with --tts-allow-download.".lstrip(", ")
    if lookup.missing:
        found_at = lookup.details.get("weights_found_at")
        where = f"weights found at {found_at}, but " if found_at else ""
        return f"{where}missing {'; '.join(lookup.missing)}. {hint}".strip()
    searched = "; ".join(lookup.searched) or "nowhere"
    return f"weights not found (searched: {searched}). {hint}".strip()


def build(
    registry: EngineRegistry,
    settings: Settings,
    hardware: Hardware,
    env: Mapping[str, str],
    cache_dir: Path,
) -> list[MatrixEntry]:
    """Every target with its verdict. Unselected targets are not probed at all."""
    query = WeightsQuery(explicit=settings.weights, env=env, cache_dir=cache_dir)
    entries = []
    for target, spec in targets(registry, settings):
        if is_selected(target, settings):
            entries.append(availability(target, spec, hardware, query, settings.allow_download))
        else:
            entries.append(MatrixEntry(target, spec, skip=f"{target.id}: not selected"))
    return entries
