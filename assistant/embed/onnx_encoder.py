"""ONNX Runtime encoder for the materialised e5 model: exported once, no torch at run time.

Why: importing torch and sentence-transformers costs seconds per process (a cold ``kiemnhiem
ask`` waits for it), and int8 weights make every forward pass cheaper. The export reads the
local sentence-transformers folder (never the network) and writes the graph beside it, into
``<model dir>-onnx/<variant>/`` (``<data_dir>/model-onnx`` by default; ``<data_dir>/model-onnx``
also when the model's parent folder is read-only), with a manifest tying it to the model's own
manifest so a rebuilt model re-exports. Beside the model rather than per data dir: every index
(and every test's temporary data dir) sharing one model shares one export. ``sentence-transformers``' own ONNX backend needs
``optimum-onnx``, whose only release pins ``transformers<4.58`` (we run 5.24), so the export is
``torch.onnx.export`` of the same BERT and inference is done here: the model folder's
``tokenizer.json`` (truncated at 512), ``last_hidden_state``, mean pooling over the attention
mask and L2 normalisation, exactly the folder's ``1_Pooling`` and ``2_Normalize`` modules.
The caller adds the ``"query: "``/``"passage: "`` prefixes, as with torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock
from tokenizers import Tokenizer

log = logging.getLogger(__name__)

EXPORT_FORMAT = 3  # 2: word embeddings outside the graph (memory-mapped), int8 keeps FFN-out fp32;
# 3: eager attention exported and fused (Attention, BiasGelu, SkipLayerNormalization); int8 smoothed
SMOOTH_ALPHA = 0.5  # SmoothQuant's migration strength: s = max|x|^a / max|W|^(1-a) per input channel
# What the activation ranges are measured on: BERT's outlier channels are systematic, so a few
# sentences of the field (queries, passages, unaccented, one English) give the same ranges as 60
# passages of knowledge/ and the official law (1-cos to fp32 0.00024 either way).
CALIBRATION = (
    "query: Thành viên Ban bầu cử có được kiêm nhiệm Tổ bầu cử không?",
    "query: chu tich ubnd xa co duoc kiem chu tich hdnd khong",
    "query: Mức phụ cấp kiêm nhiệm hiện nay là bao nhiêu?",
    "passage: Điều 22. Thành phần, nhiệm vụ của Ban bầu cử đại biểu Hội đồng nhân dân cấp xã; "
    "đại diện cơ quan nhà nước, tổ chức chính trị - xã hội và tổ chức xã hội ở địa phương.",
    "passage: Cán bộ, công chức cấp xã kiêm nhiệm chức danh khác theo quy định của Nghị định 33/2023/NĐ-CP.",
    "passage: The Election Committee consists of representatives of state agencies and socio-political organisations.",
)
OPSET = 17
VARIANTS = {"fp32": "model.onnx", "int8": "model_int8.onnx"}
EMBEDDINGS = "word_embeddings.npy"  # (vocab, 384) float32, read with mmap: loading costs nothing
_MANIFEST = "export.json"


def onnx_runtime_available() -> bool:
    """True if ``onnxruntime`` can be imported (checked without importing it)."""
    return find_spec("onnxruntime") is not None


def export_root(model_dir: Path, data_dir: Path) -> Path:
    """``<model dir>-onnx`` beside the model folder, or ``<data_dir>/model-onnx`` if that is not writable."""
    model_dir = Path(model_dir).resolve()
    beside = model_dir.parent / f"{model_dir.name}-onnx"
    if os.access(beside if beside.exists() else model_dir.parent, os.W_OK):
        return beside
    return Path(data_dir) / "model-onnx"


def _source_key(model_dir: Path) -> str:
    """What the export depends on: the model folder's manifest (it hashes every file) and our format."""
    manifest = (Path(model_dir) / "kiemnhiem_manifest.json").read_bytes()
    return hashlib.sha256(manifest + f"|{EXPORT_FORMAT}|{OPSET}".encode()).hexdigest()


def exported_path(model_dir: Path, data_dir: Path, variant: str) -> Path | None:
    """The exported graph for ``variant`` if it is complete and matches ``model_dir``, else None."""
    out = export_root(model_dir, data_dir) / variant
    try:
        meta = json.loads((out / _MANIFEST).read_text(encoding="utf-8"))
        path = out / VARIANTS[variant]
        if (meta.get("source") == _source_key(model_dir) and path.stat().st_size == meta.get("size")
                and (out / EMBEDDINGS).stat().st_size == meta.get("embeddings_size")):
            return path
    except (OSError, ValueError, KeyError):
        pass
    return None


def export(model_dir: Path, data_dir: Path, variant: str = "int8") -> Path:
    """Export ``model_dir`` to ONNX (and quantise it for ``int8``) once; return the graph's path.

    Safe across processes (file lock; written to a temp dir and renamed into place). Needs torch,
    transformers and ``onnx`` (the quantiser); takes ~10 s (fp32) plus ~15 s (int8) on 2 cores.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}")
    done = exported_path(model_dir, data_dir, variant)
    if done:
        return done
    root = export_root(model_dir, data_dir)
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f".{variant}.lock")):
        done = exported_path(model_dir, data_dir, variant)
        if done:
            return done
        t0 = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f".{variant}.tmp-", dir=root))
        try:
            fp32 = exported_path(model_dir, data_dir, "fp32")
            if fp32 is None:
                fp32 = _export_fp32(model_dir, tmp / VARIANTS["fp32"])
            elif variant == "int8":
                _link_or_copy(fp32.parent / EMBEDDINGS, tmp / EMBEDDINGS)
            path = tmp / VARIANTS[variant]
            if variant == "int8":
                smoothed = tmp / "smoothed.onnx"
                _smooth(fp32, smoothed, model_dir)
                _quantize(smoothed, path)
                smoothed.unlink()
                (tmp / VARIANTS["fp32"]).unlink(missing_ok=True)  # an intermediate here
            meta = {"format": EXPORT_FORMAT, "opset": OPSET, "variant": variant, "source": _source_key(model_dir),
                    "model_dir": str(Path(model_dir).resolve()), "size": path.stat().st_size,
                    "embeddings_size": (tmp / EMBEDDINGS).stat().st_size,
                    "seconds": round(time.perf_counter() - t0, 1)}
            (tmp / _MANIFEST).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            tmp.chmod(0o755)
            for p in tmp.iterdir():
                p.chmod(0o644)
            out = root / variant
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    log.info("exported the encoder to ONNX (%s) in %.1f s: %s", variant, meta["seconds"], out)
    return out / VARIANTS[variant]


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _export_fp32(model_dir: Path, path: Path) -> Path:
    """``torch.onnx.export`` of the BERT encoder (no pooler) from ``inputs_embeds``, dynamic batch and
    sequence axes, fused by ONNX Runtime's transformer optimiser, and its word-embedding table beside
    it as ``.npy``.

    Why outside the graph: the 250k-word table is 80 % of the weights (384 MB). Inside, every process
    parses it before its first vector (~2 s); as a memory-mapped array it costs nothing to open and
    a batch reads only the rows it uses. Position and token-type embeddings and the embedding
    LayerNorm stay in the graph, so the output equals the model's for the same ids.

    Why eager attention and fusion: the optimiser recognises BERT's eager attention (not the SDPA
    graph transformers exports by default) and replaces each layer's attention, GELU and residual
    LayerNorms by ONNX Runtime's fused CPU kernels: the same vectors (cosine 1.0000) in 0.84x the
    time, and the int8 graph quantises the fused attention's QKV weights (docs/benchmarks.md).
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch  # noqa: PLC0415 - torch only for the one-time ONNX export
    from transformers import AutoModel  # noqa: PLC0415 - torch only for the one-time ONNX export

    bert = AutoModel.from_pretrained(str(model_dir), add_pooling_layer=False, local_files_only=True,
                                     attn_implementation="eager").eval()
    table = bert.get_input_embeddings().weight.detach().cpu().numpy().astype(np.float32)
    np.save(path.parent / EMBEDDINGS, table)

    class Encoder(torch.nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            return self.m(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    embeds = torch.zeros((2, 8, table.shape[1]), dtype=torch.float32)
    mask = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    raw = path.with_name("unfused.onnx")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(Encoder(bert), (embeds, mask), str(raw), input_names=["inputs_embeds",
                          "attention_mask"], output_names=["last_hidden_state"], opset_version=OPSET,
                          dynamic_axes={"inputs_embeds": axes, "attention_mask": axes, "last_hidden_state": axes},
                          dynamo=False)
    _fuse(raw, path, heads=bert.config.num_attention_heads, hidden=bert.config.hidden_size)
    raw.unlink(missing_ok=True)
    return path


def _fuse(src: Path, dst: Path, *, heads: int, hidden: int) -> None:
    """ONNX Runtime's BERT fusions (offline, CPU kernels); the unfused graph if the optimiser fails."""
    try:
        from onnxruntime.transformers import optimizer  # noqa: PLC0415 - onnxruntime loads only when the ONNX backend runs

        logging.disable(logging.WARNING)  # the optimiser logs every pattern it tries
        try:
            model = optimizer.optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden,
                                             opt_level=0, use_gpu=False)
            stats = model.get_fused_operator_statistics()
            model.save_model_to_file(str(dst))
        finally:
            logging.disable(logging.NOTSET)
        log.info("ONNX fusion: %d Attention, %d BiasGelu, %d SkipLayerNormalization", stats.get("Attention", 0),
                 stats.get("BiasGelu", 0), stats.get("SkipLayerNormalization", 0))
    except Exception as exc:  # noqa: BLE001 - an unfused graph gives the same vectors, only slower
        log.warning("ONNX fusion failed (%s); keeping the unfused graph", exc)
        shutil.copyfile(src, dst)


def ffn_output_matmuls(graph: Any) -> list[str]:
    """Each layer's FFN output projection: the MatMul reading a GELU's output (fused or not)."""
    gelu = {o for n in graph.node if n.op_type in ("Gelu", "BiasGelu", "FastGelu") for o in n.output}
    found = [n.name for n in graph.node if n.op_type == "MatMul" and n.input[0] in gelu]
    return found or [n.name for n in graph.node  # an unfused export: torch's module names
                     if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name]


def _smooth(src: Path, dst: Path, model_dir: Path) -> None:
    """SmoothQuant (Xiao et al., 2023) for dynamic int8: divide each quantised attention and FFN input
    by a per-channel ``s`` (one ``Mul``) and multiply the weight's rows by it: the same function in
    fp32, with the LayerNorm outputs' outlier channels moved into the weights, which are quantised
    per channel.

    Why: dynamic quantisation gives each activation tensor one int8 scale per batch, and a few of
    BERT's hidden channels run ~10x larger than the rest, so the others keep only a few levels. With
    the inputs of the fused attention (QKV) and of the FFN's first projection smoothed, 1-cos to the
    fp32 vectors falls from 0.00098 to 0.00025 on average (worst 0.0018 -> 0.0005) at the same speed
    (docs/benchmarks.md). The FFN output projection stays fp32 (see :func:`_quantize`).
    """
    import onnx  # noqa: PLC0415 - onnx (~2 s) only for the one-time export
    import onnxruntime as ort  # noqa: PLC0415 - onnxruntime loads only when the ONNX backend runs
    from onnx import helper, numpy_helper  # noqa: PLC0415 - onnx (~2 s) only for the one-time export

    model = onnx.load(str(src))
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    uses: dict[str, int] = {}
    for n in graph.node:
        for name in n.input:
            uses[name] = uses.get(name, 0) + 1
    targets = [n for n in graph.node
               if (n.op_type == "Attention" or (n.op_type == "MatMul" and "/intermediate/dense/" in n.name))
               and len(n.input) > 1 and n.input[1] in weights and uses[n.input[1]] == 1]
    if not targets:
        shutil.copyfile(src, dst)
        return
    probe = onnx.ModelProto()
    probe.CopyFrom(model)  # the same graph with the inputs to smooth as outputs (before any change below)
    for n in targets:
        probe.graph.output.append(helper.make_tensor_value_info(n.input[0], onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    table = np.load(src.parent / EMBEDDINGS, mmap_mode="r")
    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    peak = {n.name: np.zeros(0, dtype=np.float32) for n in targets}
    for text in CALIBRATION:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        outs = session.run([n.input[0] for n in targets], {
            "inputs_embeds": np.asarray(table[ids], dtype=np.float32), "attention_mask": np.ones_like(ids)})
        for n, x in zip(targets, outs, strict=True):
            m = np.abs(x).reshape(-1, x.shape[-1]).max(0)
            peak[n.name] = m if peak[n.name].size == 0 else np.maximum(peak[n.name], m)
    for n in targets:
        w = numpy_helper.to_array(weights[n.input[1]])  # (in, out)
        s = peak[n.name] ** SMOOTH_ALPHA / np.maximum(np.abs(w).max(1), 1e-5) ** (1 - SMOOTH_ALPHA)
        s = np.maximum(s, 1e-5).astype(np.float32)
        weights[n.input[1]].CopyFrom(numpy_helper.from_array((w * s[:, None]).astype(np.float32), n.input[1]))
        scale, smoothed = f"{n.name}_smooth_scale", f"{n.name}_smoothed"
        graph.initializer.append(numpy_helper.from_array((1.0 / s).astype(np.float32), scale))
        graph.node.insert(list(graph.node).index(n), helper.make_node("Mul", [n.input[0], scale], [smoothed],
                                                                      name=f"{n.name}_SmoothMul"))
        n.input[0] = smoothed
    onnx.save(model, str(dst))


def _quantize(src: Path, dst: Path) -> None:
    """int8 dynamic quantisation of the MatMul and fused Attention weights, per output channel, except
    each layer's FFN output projection.

    Per channel and MatMul only: per-tensor weights over every op gave cosine 0.977 to the torch
    vectors (min over knowledge/ passages), below the 0.99 bar; per channel 0.9935. The FFN output
    projection reads the GELU activations, whose outliers one dynamic int8 scale per batch cannot
    hold: keeping those 12 MatMuls in fp32 gives 0.998 (1-cos 4.6x smaller) for 1.5x fp32's speed
    instead of 1.9x; with the fused graph, 1.8x the unfused fp32 graph's speed (docs/benchmarks.md).
    """
    import onnx  # noqa: PLC0415 - onnx (~2 s) only for the one-time export
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415 - onnxruntime loads only when the ONNX backend runs

    graph = onnx.load(str(src), load_external_data=False)
    logging.disable(logging.WARNING)  # the quantiser logs every tensor it skips on the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=ffn_output_matmuls(graph.graph),
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        logging.disable(logging.NOTSET)


class OnnxEncoder:
    """An ONNX Runtime session over the exported graph, with the model folder's tokenizer.

    Not thread-safe on its own (the tokenizer's truncation settings): :class:`Embedder` serialises calls.
    """

    def __init__(self, graph: Path, model_dir: Path, *, threads: int, max_seq_length: int,
                 tokenizer: Tokenizer | None = None) -> None:
        import onnxruntime as ort  # noqa: PLC0415 - onnxruntime loads only when the ONNX backend runs

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        self.graph = Path(graph)
        self.session = ort.InferenceSession(str(graph), opts, providers=["CPUExecutionProvider"])
        self.embeddings = np.load(self.graph.parent / EMBEDDINGS, mmap_mode="r")
        # the caller's tokenizer when it already loaded one (parsing tokenizer.json costs ~0.5 s)
        self.tokenizer: Tokenizer = tokenizer or Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_seq_length)
        self.tokenizer.no_padding()

    def forward(self, texts: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Sentence vectors (mean-pooled, L2-normalised) and each text's token embeddings (unpadded)."""
        enc = self.tokenizer.encode_batch(list(texts), add_special_tokens=True)
        width = max(len(e.ids) for e in enc)
        ids = np.zeros((len(enc), width), dtype=np.int64)
        mask = np.zeros((len(enc), width), dtype=np.int64)
        for i, e in enumerate(enc):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        embeds = np.asarray(self.embeddings[ids], dtype=np.float32)
        hidden = self.session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32), [hidden[i, : len(e.ids)] for i, e in enumerate(enc)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.forward(texts)[0]
