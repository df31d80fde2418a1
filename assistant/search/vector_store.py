"""Dense passage search that scales with the library: exact while it is small, compact and shared when large.

Why two modes: a snapshot used to hold every passage and sentence vector as float32 in each worker
(knowledge/ + one law: 1,649 vectors, nothing). A province's library of ~150,000 passages is ~1M vectors:
1.5 GB per worker, loaded row by row from Chroma at every swap, and an exact scan of the passage matrix
that costs tens of ms. So past a measured size (``Settings.compact_from_vectors``, docs/benchmarks.md)
a generation's vectors are written once to a folder of ``.npy`` files and **memory-mapped** by every
worker: the page cache holds one copy for all of them, and only the rows a question touches are read.
The passage scan then runs over an int8 copy of the *centred* passage vectors (e5 vectors share a large
common direction; removing it leaves the part that ranks, so int8 and the bf16 scan keep its precision),
and the best few hundred candidates are re-scored exactly against the float32 rows, which is why
recall@10 against the exact search stays at 1.0 in the benchmark. Small indexes keep the exact in-memory
path unchanged: there it is the fastest, and the gold-set figures were measured on it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

DENSE_MODES = ("exact", "compact")
STORE_FORMAT = 1
RESCORE_FACTOR = 16  # candidates re-scored exactly per result asked for …
RESCORE_MIN = 512  # … and never fewer: the int8 scan only has to put the true top-k among these
ARGSORT_MAX = 20_000  # below this a full stable argsort (the historical path); above, argpartition first


def choose_mode(vectors: int, setting: str, threshold: int) -> str:
    """``exact`` or ``compact`` for an index of ``vectors`` stored vectors (passage + sentence + folded).

    ``setting`` is ``Settings.dense_search``: ``auto`` decides by size, anything else is forced.
    """
    if setting in DENSE_MODES:
        return setting
    return "compact" if vectors >= threshold else "exact"


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first, ties in index order; ``-inf`` scores dropped."""
    n = len(scores)
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= ARGSORT_MAX or k >= n:
        order = np.argsort(-scores, kind="stable")[:k]
    else:
        # the k-th score, then everything above it and the first ties at it in index order: what a
        # full stable argsort returns, in O(n)
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        above = np.flatnonzero(scores > kth)
        sel = np.concatenate([above, np.flatnonzero(scores == kth)[: k - len(above)]])
        sel.sort()
        order = sel[np.argsort(-scores[sel], kind="stable")]
    return order[np.isfinite(scores[order])]


class DenseIndex(Protocol):
    """Nearest passages of one snapshot by cosine similarity (vectors are unit-normalised)."""

    mode: str

    def search(self, vector: np.ndarray, k: int, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, similarities), best first; rows where ``keep`` is False are never returned."""
        ...


class ExactDense:
    """Every passage vector in memory, one dot product each: exact, and fastest for small indexes."""

    mode = "exact"

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix

    def search(self, vector: np.ndarray, k: int, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if not len(self.matrix):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        sims = self.matrix @ np.asarray(vector, dtype=np.float32)
        if keep is not None:
            sims = np.where(keep, sims, -np.inf)
        order = top_indices(sims, k)
        return order, sims[order]


def quantize(matrix: np.ndarray, center: np.ndarray, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and per-row scales of ``matrix - center`` (symmetric, max-abs per row)."""
    n, dim = matrix.shape
    codes = np.empty((n, dim), dtype=np.int8)
    scales = np.empty(n, dtype=np.float32)
    for a in range(0, n, chunk):
        x = np.asarray(matrix[a:a + chunk], dtype=np.float32) - center
        s = np.abs(x).max(axis=1) / 127.0
        s[s == 0] = 1.0
        codes[a:a + chunk] = np.clip(np.rint(x / s[:, None]), -127, 127).astype(np.int8)
        scales[a:a + chunk] = s
    return codes, scales


class CompactDense:
    """An int8 scan of the centred passage vectors, then an exact re-score of the best candidates.

    The scan is torch's weight-only int8 matrix product (bf16 activations: ~3x faster than the float32
    scan on this CPU, docs/benchmarks.md); without torch it falls back to numpy over chunks. Ranking by
    ``(x - c)·q`` equals ranking by ``x·q``: ``c·q`` is the same for every row.
    """

    mode = "compact"

    def __init__(self, codes: np.ndarray, scales: np.ndarray, center: np.ndarray, exact: np.ndarray,
                 use_torch: bool = True) -> None:
        self.codes, self.scales, self.center, self.exact = codes, scales, center, exact
        self._torch: Any = None
        if use_torch:
            try:
                fresh = "torch" not in sys.modules
                import torch  # noqa: PLC0415 - torch (seconds, ~200 MB): only a large index pays for it, once per worker

                if fresh:  # nothing else here uses torch: one thread, since workers fill the cores and a
                    torch.set_num_threads(1)  # busy core stalls a 2-thread scan (228 rows: 0.04 -> 77 ms)

                with warnings.catch_warnings():  # the memory map is read-only, and so is the scan
                    warnings.simplefilter("ignore", UserWarning)
                    self._codes_t = torch.from_numpy(codes)
                self._scales_t = torch.from_numpy(np.asarray(scales, dtype=np.float32)).to(torch.bfloat16)
                self._torch = torch
                self._approx(np.zeros(codes.shape[1], dtype=np.float32)[:])  # the op exists on this build
            except Exception as exc:  # noqa: BLE001 - any failure: the numpy scan is slower, not wrong
                log.warning("int8 scan without torch (%s): numpy fallback", exc)
                self._torch = None

    def _approx(self, vector: np.ndarray) -> np.ndarray:
        """Approximate ``(x - c)·q`` for every row (float32)."""
        if self._torch is not None:
            torch = self._torch
            q = torch.from_numpy(np.ascontiguousarray(vector, dtype=np.float32)).to(torch.bfloat16)[None, :]
            out = torch.ops.aten._weight_int8pack_mm(q, self._codes_t, self._scales_t)[0]
            return np.asarray(out.float().numpy())
        out = np.empty(len(self.codes), dtype=np.float32)
        for a in range(0, len(self.codes), 32_768):
            out[a:a + 32_768] = (self.codes[a:a + 32_768].astype(np.float32) @ vector) * self.scales[a:a + 32_768]
        return out

    def candidates(self, k: int) -> int:
        return min(len(self.codes), max(k * RESCORE_FACTOR, RESCORE_MIN))

    def search(self, vector: np.ndarray, k: int, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if not len(self.codes) or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.asarray(vector, dtype=np.float32)
        approx = self._approx(q)
        if keep is not None:
            approx = np.where(keep, approx, -np.inf)
        cand = top_indices(approx, self.candidates(k))
        cand.sort()  # ascending rows: the re-score reads the memory map front to back
        sims = np.asarray(self.exact[cand], dtype=np.float32) @ q
        order = np.argsort(-sims, kind="stable")[:k]
        return cand[order], sims[order]


# --------------------------------------------------------------------------------------------------
# the on-disk store of one generation
# --------------------------------------------------------------------------------------------------


@dataclass
class StoredVectors:
    """One generation's vectors as memory maps (read-only), aligned with ``ids``."""

    ids: list[str]
    passage_vectors: np.ndarray  # (n, dim) float32
    codes: np.ndarray  # (n, dim) int8, centred
    scales: np.ndarray  # (n,) float32
    center: np.ndarray  # (dim,) float32
    sentence_offsets: np.ndarray  # (n + 1,) int64: passage i's sentences are rows offsets[i]:offsets[i+1]
    sentence_spans: np.ndarray  # (m, 2) int64
    sentence_vectors: np.ndarray  # (m, dim) float32
    meta: dict[str, Any]

    def dense(self, use_torch: bool = True) -> CompactDense:
        return CompactDense(self.codes, self.scales, self.center, self.passage_vectors, use_torch=use_torch)


FILES = ("passages.npy", "codes.npy", "scales.npy", "center.npy", "offsets.npy", "spans.npy", "sentences.npy")


def open_store(directory: Path, generation: int, model: str) -> StoredVectors | None:
    """The store in ``directory`` if it is complete and belongs to this generation and model, else None."""
    try:
        meta = json.loads((directory / "manifest.json").read_text("utf-8"))
        if meta.get("format") != STORE_FORMAT or meta.get("generation") != generation or meta.get("model") != model:
            return None
        arrays = [np.load(directory / f, mmap_mode="r") for f in FILES]
    except (OSError, ValueError, KeyError):
        return None
    ids = [str(i) for i in meta["ids"]]
    pv, codes, scales, center, offsets, spans, sv = arrays
    if len(pv) != len(ids) or len(offsets) != len(ids) + 1 or len(sv) != int(offsets[-1]) or len(spans) != len(sv):
        return None
    return StoredVectors(ids, pv, codes, scales, np.asarray(center), np.asarray(offsets), spans, sv, meta)


class StoreWriter:
    """Writes one generation's store into a temp folder, renamed over ``directory`` when complete.

    Passages first (their order is the snapshot's), then sentences in any order: they are sorted by
    (passage row, start) through a temporary memory map, so memory stays bounded at any size.
    """

    def __init__(self, directory: Path, ids: list[str], dim: int, generation: int, model: str,
                 sentences: int) -> None:
        self.directory, self.ids, self.dim = directory, ids, dim
        self.generation, self.model = generation, model
        directory.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=".vectors-", dir=directory.parent))
        self.pos = {pid: i for i, pid in enumerate(ids)}
        self.pv = np.lib.format.open_memmap(self.tmp / "passages.npy", mode="w+", dtype=np.float32,
                                            shape=(len(ids), dim))
        self.filled = np.zeros(len(ids), dtype=bool)
        self.raw = np.lib.format.open_memmap(self.tmp / "sentences.raw.npy", mode="w+", dtype=np.float32,
                                             shape=(max(sentences, 1), dim))
        self.s_pass: list[np.ndarray] = []
        self.s_span: list[np.ndarray] = []
        self.m = 0

    def add_passages(self, ids: Iterable[str], vectors: Any) -> None:
        rows = np.asarray([self.pos[i] for i in ids], dtype=np.int64)
        self.pv[rows] = np.asarray(vectors, dtype=np.float32).reshape(len(rows), self.dim)
        self.filled[rows] = True

    def add_sentences(self, passage_ids: list[str], spans: list[tuple[int, int]], vectors: Any) -> None:
        keep = [j for j, pid in enumerate(passage_ids) if pid in self.pos]
        if not keep:
            return
        vecs = np.asarray(vectors, dtype=np.float32).reshape(len(passage_ids), self.dim)[keep]
        if self.m + len(keep) > len(self.raw):
            raise ValueError(f"more sentence vectors than announced ({len(self.raw)})")
        self.raw[self.m:self.m + len(keep)] = vecs
        self.m += len(keep)
        self.s_pass.append(np.asarray([self.pos[passage_ids[j]] for j in keep], dtype=np.int64))
        self.s_span.append(np.asarray([spans[j] for j in keep], dtype=np.int64).reshape(len(keep), 2))

    def commit(self) -> StoredVectors:
        try:
            if not self.filled.all():
                raise ValueError(f"{int((~self.filled).sum())} passages have no vector")
            self.pv.flush()
            s_pass = np.concatenate(self.s_pass) if self.s_pass else np.zeros(0, dtype=np.int64)
            s_span = np.concatenate(self.s_span) if self.s_span else np.zeros((0, 2), dtype=np.int64)
            order = np.lexsort((s_span[:, 0], s_pass)) if len(s_pass) else np.zeros(0, dtype=np.int64)
            sv = np.lib.format.open_memmap(self.tmp / "sentences.npy", mode="w+", dtype=np.float32,
                                           shape=(len(order), self.dim))
            for a in range(0, len(order), 65_536):
                part = order[a:a + 65_536]
                sv[a:a + len(part)] = self.raw[np.sort(part)][np.argsort(np.argsort(part))]
            sv.flush()
            del sv, self.raw
            (self.tmp / "sentences.raw.npy").unlink()
            np.save(self.tmp / "spans.npy", s_span[order])
            counts = np.bincount(s_pass, minlength=len(self.ids)) if len(s_pass) else np.zeros(len(self.ids), int)
            np.save(self.tmp / "offsets.npy", np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
            center = (np.asarray(self.pv.mean(axis=0), dtype=np.float32) if len(self.ids)
                      else np.zeros(self.dim, dtype=np.float32))
            codes, scales = quantize(self.pv, center)
            np.save(self.tmp / "codes.npy", codes)
            np.save(self.tmp / "scales.npy", scales)
            np.save(self.tmp / "center.npy", center)
            meta = {"format": STORE_FORMAT, "generation": self.generation, "model": self.model, "dim": self.dim,
                    "passages": len(self.ids), "sentences": int(len(order)), "ids": self.ids}
            (self.tmp / "manifest.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
            del self.pv
            replace_dir(self.tmp, self.directory)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        store = open_store(self.directory, self.generation, self.model)
        if store is None:
            raise OSError(f"vector store {self.directory} unreadable right after writing")
        return store

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def replace_dir(src: Path, dst: Path) -> None:
    """Rename ``src`` over ``dst``: readers see the old folder or the new one, never half of either."""
    old = dst.with_name(dst.name + ".old")
    if dst.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def store_bytes(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.glob("*") if f.is_file()) if directory.exists() else 0
