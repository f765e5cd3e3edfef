"""A benchmarked configuration: model x backend x device x variant."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Target:
    """One benchmarked configuration: model x backend x device x variant."""

    __json_computed__ = ("id",)  # written for readers of the JSON, derived when read

    model: str
    backend: str
    device: str
    variant: str
    default_variant: bool = True

    @property
    def id(self) -> str:
        base = f"{self.model}-{self.backend}-{self.device}"
        return base if self.default_variant else f"{base}-{self.variant}"

    @property
    def pair(self) -> str:
        return f"{self.model}-{self.backend}"
