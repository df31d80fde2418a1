"""One Settings object for the whole product, read from ``KIEMNHIEM_*`` environment variables.

It is created once at the edge (CLI command, API start-up, test fixture) and passed down;
nothing below reads the environment by itself, so tests can run several configurations
side by side in one process.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration. Every field maps to ``KIEMNHIEM_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="KIEMNHIEM_", env_file=None, extra="ignore")

    # --- storage -----------------------------------------------------------------------------
    data_dir: Path = Field(default=Path(".kiemnhiem"), description="Model, Chroma, BM25, feedback DB, lock")
    knowledge_paths: list[Path] = Field(default=[Path("knowledge")], description="Default ingest sources")
    uploads_dir: Path | None = Field(default=None, description="Documents added from the browser by an "
                                     "administrator; default <data_dir>/uploads; ingest reads it too")
    max_upload_bytes: int = Field(default=10_000_000, ge=1024, description="Largest document upload (bytes)")
    chroma_url: str | None = Field(default=None, description="Chroma server URL; unset = embedded store")
    collection: str = Field(default="kiemnhiem", description="Chroma collection name")
    model_path: Path | None = Field(default=None, description="Materialised model folder; default <data_dir>/model")

    # --- compute -----------------------------------------------------------------------------
    threads: int = Field(default=2, ge=1, le=64, description="torch / BLAS threads per process")
    embed_batch_size: int = Field(
        default=4, ge=1, le=512,
        description="Forward-batch budget in 512-token texts (length-sorted: up to 128 short sentences). Small "
                    "batches stay in the CPU caches: 4 embeds knowledge/ 1.3x faster than 16 (docs/benchmarks.md)")
    embed_backend: Literal["auto", "onnx", "torch"] = Field(
        default="auto",
        description="Encoder runtime: onnx = ONNX Runtime on a copy exported once into <data_dir>/model-onnx; "
                    "torch = sentence-transformers; auto = onnx when onnxruntime is installed (torch if the "
                    "export fails)")
    embed_int8: bool = Field(
        default=True,
        description="ONNX backend: int8 dynamic quantisation of the MatMul weights (per channel, FFN output kept "
                    "fp32): ~0.65x the encode CPU, cosine >= 0.998 to torch, every gold retrieval metric within "
                    "0.01 (docs/benchmarks.md); false = the fp32 graph, identical to torch")

    # --- vectors stored per passage (docs/benchmarks.md, "which vectors earn their cost") --------
    folded_vectors: bool = Field(
        default=False,
        description="Also embed a diacritic-folded copy of every passage and search it with the folded query")
    sentence_vectors: Literal["separate", "late"] = Field(
        default="separate",
        description="Quotable-sentence vectors: separate = one forward pass per sentence; late = pooled from "
                    "the passage's own forward pass over the sentence's tokens (no extra encoder work)")

    # --- dense search as the library grows (assistant/search/vector_store.py, docs/benchmarks.md) ------
    dense_search: Literal["auto", "exact", "compact"] = Field(
        default="auto",
        description="auto = exact in-memory search below compact_from_vectors stored vectors, above it an int8 "
                    "scan with exact re-score over vectors memory-mapped from <data_dir>/vectors (shared by "
                    "workers); exact / compact force one")
    compact_from_vectors: int = Field(
        default=50_000, ge=0,
        description="Stored vectors (passages + sentences) from which auto switches to the compact search. "
                    "Measured (docs/benchmarks.md, Scale): at 100,000 an exact worker opened in 161 s at 1.2 GiB "
                    "resident and scanned slower than compact; at 10,000 both scans take under a millisecond")

    query_cache: int = Field(
        default=4096, ge=0,
        description="Query vectors kept per worker (least recently used out first; 0 = off): a question asked "
                    "again is not encoded again, ~1.5 kB each. The vector is the one the encoder gave, so "
                    "answers do not change")

    answer_cache: int = Field(
        default=1024, ge=0,
        description="Whole extractive answers kept per worker (least recently used out first; 0 = off), keyed "
                    "by the question, history, options, as-of date, today's date and the index generation, and "
                    "emptied when the generation changes: an answer asked again is returned as first made "
                    "(same JSON except timings_ms), ~10-30 kB each")

    # --- retrieval ---------------------------------------------------------------------------
    top_k: int = Field(default=5, ge=1, le=50, description="Passages returned to the answerer")
    candidates: int = Field(default=30, ge=5, le=500, description="Candidates per retriever before fusion")
    rrf_k: int = Field(default=60, ge=1)
    rerank: bool = True
    min_score: float = Field(default=0.76, description="Refusal threshold on the top rerank score (calibrated on eval/questions.jsonl)")
    min_coverage: float = Field(default=0.2, description="Refusal threshold on question-word coverage")
    phrase_margin: float = Field(
        default=0.05, ge=0.0, le=1.0,
        description="Below min_score + this, a question is refused unless one of its two-word phrases occurs "
                    "in the retrieved passages (stops 'thu tuc ly hon' matching on single syllables)")

    # --- answering ---------------------------------------------------------------------------
    answerer: Literal["extractive", "llm"] = "extractive"
    max_answer_sentences: int = Field(default=4, ge=1, le=12)
    llm_url: str | None = Field(default=None, description="OpenAI-compatible base URL, e.g. http://host:8001/v1")
    llm_model: str = "qwen2.5-1.5b-instruct"
    llm_api_key: str = "not-needed"
    llm_timeout: float = Field(default=30.0, gt=0)
    allowed_answerers: list[Literal["extractive", "llm"]] = Field(
        default=[], description="Answerers a request may choose; empty = only the configured `answerer`")
    llm_max_concurrent: int = Field(default=4, ge=1, le=256, description="LLM answers running at once per worker")
    llm_max_queue: int = Field(default=8, ge=0, le=10000,
                               description="LLM answers waiting for a slot per worker; beyond it 503 llm_busy")
    llm_max_per_client: int = Field(
        default=2, ge=1, le=10000,
        description="LLM answers one client address may have running or waiting per worker; beyond it 429 "
                    "llm_client_busy. Behind a reverse proxy every client has the proxy's address: raise it there")

    # --- API ---------------------------------------------------------------------------------
    admin_key: str | None = Field(default=None, description="Enables admin endpoints when set")
    cors_origins: list[str] = Field(default=[], description="Allowed CORS origins; empty = closed")
    max_question_chars: int = 2000
    max_history_turns: int = 20
    max_history_chars: int = 8000
    max_body_bytes: int = 65536
    max_header_bytes: int = Field(default=16384, ge=1024, description="Request line + headers; beyond it 431")
    max_header_count: int = Field(default=100, ge=8, description="Request headers; beyond it 431")
    header_timeout: float = Field(default=10.0, gt=0,
                                  description="Seconds a connection may take to send a complete request head")
    body_timeout: float = Field(default=60.0, gt=0,
                                description="Seconds a client may take to send a whole request body, from the end of "
                                            "its request head; beyond it 408 body_timeout and the connection is closed")
    allowed_hosts: list[str] = Field(default=["*"], description="Accepted Host headers (`*.example.vn` works); "
                                     "other hosts get 400 invalid_host")
    feedback_max_answer_chars: int = Field(default=8000, ge=1, description="Longest answer text stored as feedback")
    feedback_max_comment_chars: int = Field(default=1000, ge=0, description="Longest feedback comment")
    feedback_per_minute: int = Field(default=30, ge=1, description="Feedback posts per client address per minute")
    feedback_max_bytes: int = Field(default=50_000_000, ge=65536,
                                    description="Feedback database size cap; beyond it 507 feedback_full")
    # --- shared answers (POST /share): snapshots a link shows as they were, bounded and expiring ----------
    share_ttl_days: int = Field(default=90, ge=1, description="Days a shared answer stays reachable")
    share_max_count: int = Field(default=20_000, ge=10, description="Shared answers kept; the oldest go first")
    share_max_bytes: int = Field(default=65_536, ge=4096, description="Largest snapshot (JSON bytes); beyond it 413")
    share_per_minute: int = Field(default=20, ge=1, description="Shares per client address per minute")

    # --- ingestion limits --------------------------------------------------------------------
    reindex_timeout: float = Field(
        default=1800.0, gt=0,
        description="Seconds an index write from the API (/admin/reindex, an upload, a delete) may take in its child "
                    "process before it is killed and answered 504 index_write_timeout (the index stays as it was)")
    max_source_bytes: int = Field(default=5_000_000, ge=1, description="Largest source text (bytes of UTF-8) "
                                  "ingested; a bigger file is refused with an error naming it")
    follow_symlinks: bool = Field(default=False, description="Follow symbolic links inside knowledge folders")

    @field_validator("chroma_url", "llm_url", "admin_key", mode="before")
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    # --- derived paths -----------------------------------------------------------------------
    @property
    def model_dir(self) -> Path:
        return self.model_path or self.data_dir / "model"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        return self.data_dir / "bm25"

    @property
    def uploads_path(self) -> Path:
        return self.uploads_dir or self.data_dir / "uploads"

    def ingest_paths(self) -> list[Path]:
        """What a default ingest reads: the knowledge folders, the folders added with ``kiemnhiem ingest PATH``
        and the uploads folder when it exists."""
        extra = [self.uploads_path] if self.uploads_path.is_dir() else []
        added = [p for p in self.added_paths() if p.exists() and p not in self.knowledge_paths]
        return [*self.knowledge_paths, *added, *extra]

    @property
    def added_paths_file(self) -> Path:
        return self.data_dir / "added-paths.json"

    def added_paths(self) -> list[Path]:
        """Folders and files added with ``kiemnhiem ingest PATH``: every later ingest and reindex reads them."""
        try:
            return [Path(p) for p in json.loads(self.added_paths_file.read_text("utf-8"))]
        except (OSError, ValueError, TypeError):
            return []

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def vectors_dir(self) -> Path:
        return self.data_dir / "vectors"

    @property
    def passages_dir(self) -> Path:
        return self.data_dir / "passages"

    @property
    def shares_db(self) -> Path:
        return self.data_dir / "shares.sqlite3"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "ingest.lock"

    @property
    def chroma_mode(self) -> str:
        return "server" if self.chroma_url else "embedded"


def data_dir_problem(settings: Settings) -> str | None:
    """Why the data dir cannot be written (read-only mount, permissions), or None when it can.

    Probed by creating a file, because permission bits do not tell (root, read-only file systems).
    """
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=settings.data_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"{settings.data_dir}: {exc.strerror or exc}"
    return None


def configure_threads(settings: Settings) -> None:
    """Pin thread pools before heavy libraries spin them up: oversubscription costs 50x here."""
    n = str(settings.threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TOKENIZERS_PARALLELISM"):
        if var == "TOKENIZERS_PARALLELISM":
            os.environ.setdefault(var, "false")
        else:
            os.environ.setdefault(var, n)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    if "torch" not in sys.modules:
        return  # importing torch costs seconds: the embedder pins its threads when it loads the model
    try:
        import torch  # noqa: PLC0415 - torch costs seconds to import; its threads are set only once something loaded it

        torch.set_num_threads(settings.threads)
        if torch.get_num_interop_threads() != 1:
            try:
                torch.set_num_interop_threads(1)
            except RuntimeError:
                pass  # already set once in this process
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
