"""A stand-in for spaCy's ``en_core_web_sm``, built at test time (nothing downloaded).

misaki's English G2P checks ``spacy.util.is_package("en_core_web_sm")`` (a distribution
must exist, or it runs ``spacy.cli.download``), then ``spacy.load`` imports the package
and calls its ``load(**overrides)``. The stand-in is a real package plus a dist-info in
a folder of its own, to be put on a subprocess's ``PYTHONPATH``: its ``load()`` returns
a blank English pipeline (spaCy's own tokenizer) with one rule-based component that
sets the Penn Treebank tags misaki reads (punctuation, numbers, currency; ``NN`` for
words), which is enough for misaki to phonemize English with its lexicons.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

PACKAGE = "en_core_web_sm"
VERSION = "0.0.0+ttsbench.standin"
COMPONENT = "ttsbench_standin_tagger"

# Penn Treebank tags misaki reads for punctuation and currency.
FIXED_TAGS = {
    ".": ".",
    "!": ".",
    "?": ".",
    "\u2026": ".",
    ",": ",",
    ":": ":",
    ";": ":",
    "-": ":",
    "--": ":",
    "\u2013": ":",
    "\u2014": ":",
    "(": "-LRB-",
    ")": "-RRB-",
    "\u201c": "``",
    '"': "``",
    "\u201d": "''",
    "''": "''",
    "$": "$",
    "\u00a3": "$",
    "\u20ac": "$",
    "#": "#",
}

INIT = """\"\"\"Stand-in for spaCy's @PACKAGE@, written by the ttsbench upstream tier (no
trained weights): a blank English pipeline with a rule-based tagger.\"\"\"

import spacy
from spacy.language import Language

__version__ = "@VERSION@"

_FIXED = @FIXED@


def _tag(doc):
    for token in doc:
        text = token.text
        if text in _FIXED:
            token.tag_ = _FIXED[text]
        elif token.like_num:
            token.tag_ = "CD"
        elif token.is_punct:
            token.tag_ = "NFP"
        elif token.i > 0 and text[:1].isupper():
            token.tag_ = "NNP"
        else:
            token.tag_ = "NN"
    return doc


if not Language.has_factory("@COMPONENT@"):
    Language.component("@COMPONENT@", func=_tag)


def load(**overrides):
    \"\"\"What spacy.load("@PACKAGE@", ...) calls; the overrides (enable=...) name
    components the stand-in does not have, so they are ignored.\"\"\"
    nlp = spacy.blank("en")
    nlp.add_pipe("@COMPONENT@")
    return nlp
"""

METADATA = f"""Metadata-Version: 2.1
Name: {PACKAGE}
Version: {VERSION}
Summary: Stand-in for spaCy's English pipeline (ttsbench upstream tier, no trained weights)
"""


def build_spacy_standin(root: Path) -> Path:
    """Write the importable stand-in package under ``root``; return ``root`` (the folder
    to put on ``PYTHONPATH``)."""
    package = root / PACKAGE
    package.mkdir(parents=True, exist_ok=True)
    source = (
        INIT.replace("@PACKAGE@", PACKAGE)
        .replace("@VERSION@", VERSION)
        .replace("@COMPONENT@", COMPONENT)
        .replace("@FIXED@", repr(FIXED_TAGS))
    )
    (package / "__init__.py").write_text(source, encoding="utf-8")
    info = root / f"{PACKAGE}-{VERSION}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(METADATA, encoding="utf-8")
    (info / "top_level.txt").write_text(PACKAGE + "\n", encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    return root


def with_standin(env: dict[str, str], root: Path) -> dict[str, str]:
    """``env`` with the stand-in's folder first on ``PYTHONPATH``."""
    rest = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": str(root) if not rest else f"{root}:{rest}"}


def activate_in_process(root: Path) -> None:
    """Make the stand-in importable in this process too (for checks run in-process)."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.invalidate_caches()
