"""Lexical scoring with bm25s over Vietnamese syllables, in two views: as written and folded.

Two views because users type ``thanh vien ban bau cu`` as often as ``thành viên Ban bầu cử``:
the folded view matches either spelling, the accented view keeps ``bầu`` apart from ``bâu``.
The index is a derived artefact of the passage set; it is persisted per index generation so
that a process can check it is consistent with Chroma before using it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import bm25s
import numpy as np

from assistant.text import tokenize, tokenize_folded

_EMPTY = "\u2400"  # a token no text produces: bm25s refuses empty documents


class BM25Index:
    """Accented + folded BM25 over an ordered list of passage texts."""

    def __init__(self, raw: bm25s.BM25, folded: bm25s.BM25, ids: list[str], generation: str) -> None:
        self.raw = raw
        self.folded = folded
        self.ids = ids
        self.generation = generation

    @classmethod
    def build(cls, ids: list[str], texts: list[str], generation: str) -> BM25Index:
        raw = bm25s.BM25()
        folded = bm25s.BM25()
        if texts:
            # interned: a word is one string object however often it occurs (150,000 passages are ~30M
            # tokens per view, ~2 GB as separate strings, ~0.25 GB as references to shared ones)
            raw.index([[sys.intern(w) for w in tokenize(t)] or [_EMPTY] for t in texts], show_progress=False)
            folded.index([[sys.intern(w) for w in tokenize_folded(t)] or [_EMPTY] for t in texts],
                         show_progress=False)
        return cls(raw, folded, list(ids), generation)

    def __len__(self) -> int:
        return len(self.ids)

    def _scores(self, model: bm25s.BM25, tokens: list[str]) -> np.ndarray:
        if not self.ids:
            return np.zeros(0, dtype=np.float32)
        vocab = model.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(model.get_scores(known), dtype=np.float32)

    def scores(self, query: str, folded: bool) -> np.ndarray:
        """Score every passage (aligned with ``ids``) for the query in one view."""
        if folded:
            return self._scores(self.folded, tokenize_folded(query))
        return self._scores(self.raw, tokenize(query))

    # --- persistence ----------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write atomically: a temp dir renamed over the target, so readers never see half a file."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=directory.parent))
        try:
            if self.ids:
                self.raw.save(tmp / "raw", show_progress=False)
                self.folded.save(tmp / "folded", show_progress=False)
            (tmp / "manifest.json").write_text(
                json.dumps({"generation": self.generation, "ids": self.ids}, ensure_ascii=False), "utf-8"
            )
            old = directory.with_name(directory.name + ".old")
            if directory.exists():
                if old.exists():
                    shutil.rmtree(old)
                os.replace(directory, old)
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> BM25Index | None:
        """Load a persisted index, or None when absent or unreadable (callers rebuild)."""
        try:
            manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
            ids = list(manifest["ids"])
            if ids:
                # memory-mapped: the score matrices (217 MiB per worker at 1M stored vectors) stay in the page
                # cache once for every worker, and a query reads only its terms' postings; the files of a
                # generation are never rewritten in place (a new folder is renamed over), so a map stays valid
                raw = bm25s.BM25.load(directory / "raw", show_progress=False, verbosity=0, mmap=True)
                folded = bm25s.BM25.load(directory / "folded", show_progress=False, verbosity=0, mmap=True)
            else:
                raw, folded = bm25s.BM25(), bm25s.BM25()
            return cls(raw, folded, ids, str(manifest["generation"]))
        except (OSError, ValueError, KeyError):
            return None
