"""``--tts-server`` entries as matrix targets: one EngineSpec per server.

An entry is ``URL``, ``NAME=URL`` or ``NAME=URL#MODEL``: the target's model is NAME
("server" by default), its backend ``http``, its device ``remote``; MODEL is the
``"model"`` the requests send ("tts-1" by default). Imports no HTTP client: the spec
names the ``httpx`` package, which the matrix checks with find_spec, and the adapter
imports it at load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ttsbench.engines.base import EngineSpec
from pytest_ttsbench.engines.http_server import HttpServerEngine
from pytest_ttsbench.engines.registry import RegistryError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pytest_ttsbench.engines.registry import EngineRegistry

BACKEND = "http"
DEVICE = "remote"
DEFAULT_NAME = "server"
DEFAULT_MODEL = "tts-1"
_URL = re.compile(r"https?://[^\s/#]+(/[^\s#]*)?", re.IGNORECASE)


class ServerSpecError(RegistryError):
    """A --tts-server entry that is not URL, NAME=URL or NAME=URL#MODEL."""


@dataclass(frozen=True)
class ServerTarget:
    name: str
    url: str  # no trailing slash
    model: str

    def spec(self) -> EngineSpec:
        engine = type(
            f"HttpServerEngine_{self.name.replace('-', '_').replace('.', '_')}",
            (HttpServerEngine,),
            {"base_url": self.url, "request_model": self.model},
        )
        return EngineSpec(
            self.name,
            BACKEND,
            engine,
            devices=(DEVICE,),
            packages=("httpx",),
            extra="serving",
            description=f"TTS server at {self.url} (model {self.model!r}), over HTTP",
        )


def parse_server(entry: str) -> ServerTarget:
    text = entry.strip()
    name, model = DEFAULT_NAME, DEFAULT_MODEL
    head, sep, tail = text.partition("=")
    if sep and not head.lower().startswith(("http://", "https://")):
        name, text = head.strip().lower(), tail.strip()
    text, sep, tail = text.partition("#")
    if sep:
        model = tail.strip()
    url = text.strip().rstrip("/")
    if not _URL.fullmatch(url):
        raise ServerSpecError(
            f"--tts-server {entry!r}: expected URL, NAME=URL or NAME=URL#MODEL with an "
            "http:// or https:// URL (http://127.0.0.1:8000)"
        )
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise ServerSpecError(f"--tts-server {entry!r}: name {name!r}: use letters, digits, - _ .")
    if not model:
        raise ServerSpecError(f"--tts-server {entry!r}: empty model after '#'")
    return ServerTarget(name, url, model)


def register_servers(registry: EngineRegistry, entries: Iterable[str]) -> list[ServerTarget]:
    """One spec per server; two entries with one name are an error (name them)."""
    servers = [parse_server(e) for e in entries]
    seen: dict[str, str] = {}
    for server in servers:
        if server.name in seen:
            raise ServerSpecError(
                f"--tts-server: {seen[server.name]} and {server.url} are both named "
                f"{server.name!r}; name them: NAME=URL"
            )
        seen[server.name] = server.url
        registry.register(server.spec())
    if servers:
        registry.sources.append(f"--tts-server: {', '.join(s.name for s in servers)}")
    return servers
