"""One generation's passage texts, metadata and diacritic-restorer counts, in files of its own.

Why: a serving worker needs every passage's text and metadata, and used to page them out of Chroma. The
embedded Chroma keeps a collection's segments loaded once it is read: the first paged ``get`` of the
passage rows raised a worker's resident memory by ~400-580 MiB that it never returned (docs/benchmarks.md,
Scale), and at 1M stored vectors a worker then spent minutes building the diacritic restorer's word and
bigram counts from every passage text. So the ingest that writes a generation also writes, before it
flips the pointer, ``<data_dir>/passages/<collection>/gNNNN/``:

* ``passages.jsonl``: one ``[text, metadata]`` line per passage, in snapshot order (by document, then
  ordinal), exactly the rows Chroma returns, so a worker builds the same :class:`Passage` objects;
* ``restorer.json``: the :class:`DiacriticRestorer` counts built from those texts (insertion order kept:
  the restorer's ties are broken by it);
* ``numbers.json``: every document number the passages hold or mention (``text.corpus_numbers``), which
  the answer's premise checks read (~80 s over 144,485 passages when a worker computed it at its first
  question); a folder written before it existed gets it from the first worker that computes it;
* ``manifest.json``: format, generation, model, the pointer's stamp and the passage count, written last.

The folder is written in a temporary sibling and renamed into place, so a reader sees all of it or none.
Chroma stays the system of record; a generation without the folder (written by an older version, or the
folder was lost) is read from Chroma and the folder written once then.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.models import Passage
from assistant.search.vector_store import replace_dir
from assistant.text import DiacriticRestorer, corpus_numbers

log = logging.getLogger(__name__)

PASSAGES_FORMAT = 1
Row = tuple[str, dict[str, Any]]  # (passage text, Chroma metadata)


def pointer_stamp(pointer: dict[str, Any]) -> str:
    """What ties a passage folder to one written generation: the pointer's ``stamp`` (set by ingests since
    the folder exists) or, for older pointers, its ``updated_at``. A data dir whose Chroma was replaced
    while the folder stayed behind then never serves stale texts."""
    return str(pointer.get("stamp") or pointer.get("updated_at") or "")


@dataclass
class PassageFile:
    """An opened passage folder: the rows (or what ``make`` built of them), and where the restorer counts are
    (loaded on first use)."""

    rows: list[Any]
    directory: Path | None  # None: rows read from Chroma and not written (a read-only data dir)

    def restorer(self) -> DiacriticRestorer | None:
        """The persisted counts, or None when there are none or they are unreadable (callers rebuild)."""
        return load_restorer(self.directory / "restorer.json") if self.directory is not None else None

    def numbers(self) -> list[str] | None:
        """The persisted document numbers, or None (callers compute them, and :meth:`keep_numbers`)."""
        if self.directory is None:
            return None
        try:
            data = json.loads((self.directory / "numbers.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return [str(n) for n in data] if isinstance(data, list) else None

    def keep_numbers(self, numbers: list[str]) -> None:
        """Add the numbers to a folder written without them (best effort: a read-only data dir is fine)."""
        if self.directory is not None:
            try:
                save_numbers(numbers, self.directory / "numbers.json")
            except OSError as exc:
                log.warning("could not persist document numbers in %s: %s", self.directory, exc)


def write_passage_file(directory: Path, generation: int, model: str, stamp: str, rows: Sequence[Row]) -> None:
    """Write the folder for one generation atomically (temp folder renamed over ``directory``)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".passages-", dir=directory.parent))
    try:
        with (tmp / "passages.jsonl").open("w", encoding="utf-8") as fh:
            for text, meta in rows:
                fh.write(json.dumps([text, meta], ensure_ascii=False))
                fh.write("\n")
        save_restorer(DiacriticRestorer.from_texts([text for text, _ in rows]), tmp / "restorer.json")
        save_numbers(numbers_of_rows(rows), tmp / "numbers.json")
        manifest = {"format": PASSAGES_FORMAT, "generation": generation, "model": model, "stamp": stamp,
                    "passages": len(rows)}
        (tmp / "manifest.json").write_text(json.dumps(manifest), "utf-8")
        replace_dir(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def open_passage_file(directory: Path, generation: int, model: str, stamp: str, passages: int | None = None,
                      make: Callable[[str, dict[str, Any]], Any] | None = None) -> PassageFile | None:
    """The folder's rows if it is complete and belongs to this generation, model and stamp, else None.

    ``make(text, metadata)`` turns each row into what the caller keeps as it is read, so the metadata dicts
    are never all alive at once: at 144,485 passages they are ~0.5 GiB that the process would not give back.
    """
    try:
        manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
        if (manifest.get("format") != PASSAGES_FORMAT or manifest.get("generation") != generation
                or manifest.get("model") != model or manifest.get("stamp") != stamp):
            return None
        rows: list[Row] = []
        # a document's title, number, issuer, dates repeat on every one of its passages: one string each
        shared: dict[str, str] = {}
        with (directory / "passages.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                text, meta = json.loads(line)
                meta = {k: shared.setdefault(v, v) if isinstance(v, str) and k != "text_hash" else v
                        for k, v in meta.items()}
                rows.append(make(str(text), meta) if make is not None else (str(text), meta))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if len(rows) != int(manifest.get("passages", -1)) or (passages is not None and len(rows) != passages):
        return None
    return PassageFile(rows, directory)


def numbers_of_rows(rows: Sequence[Row]) -> list[str]:
    """``text.corpus_numbers`` of a generation's rows, as a snapshot computes it from its passages (the
    documents' numbers are their first passage's, as ``store._documents_of`` takes them)."""
    first: dict[str, str] = {}
    passages = [Passage.from_record(str(meta["passage_id"]), text, meta) for text, meta in rows]
    for p in passages:
        first.setdefault(p.doc_id, str(p.number))
    return corpus_numbers(first.values(), ((p.text, p.amended_by) for p in passages))


def save_numbers(numbers: list[str], path: Path) -> None:
    """Written to a temp file renamed into place: a reader sees the whole list or none."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(numbers, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


def save_restorer(restorer: DiacriticRestorer, path: Path) -> None:
    """Unigram forms as nested objects (their order is kept: ties go to the form seen first), bigrams as
    ``[previous, token, count]`` triples."""
    data = {"unigrams": restorer.unigrams, "bigrams": [[a, b, n] for (a, b), n in restorer.bigrams.items()]}
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")


def load_restorer(path: Path) -> DiacriticRestorer | None:
    try:
        data = json.loads(path.read_text("utf-8"))
        unigrams = {str(k): {str(f): int(n) for f, n in forms.items()} for k, forms in data["unigrams"].items()}
        bigrams = {(str(a), str(b)): int(n) for a, b, n in data["bigrams"]}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("restorer counts %s unreadable (%s): rebuilt from the passages", path, exc)
        return None
    return DiacriticRestorer(unigrams, bigrams)
