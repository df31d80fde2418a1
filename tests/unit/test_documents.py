"""Loading sources of every format into Document: metadata, errors with file:line, formats."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.ingest.chunking import chunk_document
from assistant.ingest.documents import LoadError, iter_documents, load_document, slugify
from assistant.models import KINDS, STATUSES, Passage, SectionPeriod
from assistant.text import nfc
from tests.support import KNOWLEDGE

NOTE_IDS = {
    "cai-cach-2025-tac-dong-kiem-nhiem",
    "chi-thi-45-ct-tw-2025",
    "hdbcqg-2016-tu-van-ban-bau-cu-xa-kiem-to-bau-cu",
    "hoi-dap-thanh-vien-ban-bau-cu-kiem-nhiem",
    "ket-luan-137-kl-tw-2025",
    "ket-luan-34-kl-tw-2018",
    "luat-bau-cu-85-2015-qh13",
    "nghi-dinh-204-2004-nd-cp",
    "nghi-dinh-33-2023-nd-cp",
    "nghi-dinh-92-2009-nd-cp",
    "nghi-quyet-02-nq-tu-ben-tre",
    "nghi-quyet-18-nq-tw-2017",
    "quy-dinh-208-qd-tw-2019",
    "thong-tu-78-2005-tt-bnv",
    "tin-ttxvn-ben-tre-1017-can-bo-kiem-nhiem",
}

GOOD_NOTE = """---
id: vi-du
title: "Ví dụ"
kind: luat
status: con-hieu-luc
issued: 2025-04-14
source_urls: ["https://example.org/a"]
---
# Ví dụ

## Điều 1. Phạm vi
Nội dung điều một.
"""


def assert_load_error(path: Path, line: int, word: str) -> None:
    """Loading ``path`` fails with ``path:line: …word…``."""
    with pytest.raises(LoadError) as info:
        load_document(path)
    assert info.value.line == line and word in info.value.message, str(info.value)
    assert str(info.value).startswith(f"{path}:{line}:")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# the knowledge base
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notes():
    docs, errors = iter_documents([KNOWLEDGE])
    assert errors == []
    return {d.id: d for d in docs}


def test_all_notes_load_with_ids_unchanged(notes):
    assert set(notes) == NOTE_IDS
    for doc_id, doc in notes.items():
        assert Path(doc.path).stem == doc_id  # file name == id
        assert doc.kind in KINDS and doc.status in STATUSES
        assert doc.title and doc.text.strip()
        assert nfc(doc.text) == doc.text and nfc(doc.title) == doc.title
        for d in (doc.issued, doc.effective):
            assert d == "" or (len(d) == 10 and d[4] == "-" and d[7] == "-")


def test_readme_is_not_a_document(notes):
    assert (KNOWLEDGE / "README.md").exists()
    assert all(Path(d.path).name != "README.md" for d in notes.values())


def test_body_line_points_at_body(notes):
    for doc in notes.values():
        lines = Path(doc.path).read_text(encoding="utf-8").split("\n")
        body = [ln for ln in lines[doc.body_line - 1 :] if not ln.startswith("> ")]  # annotations are removed
        assert nfc("\n".join(body)) == doc.text
        assert lines[doc.body_line - 2] == "---"


def test_short_titles_give_citation_names(notes):
    assert notes["luat-bau-cu-85-2015-qh13"].citation_name == "Luật Bầu cử 85/2015/QH13"
    assert notes["nghi-dinh-33-2023-nd-cp"].citation_name == "Nghị định 33/2023/NĐ-CP"
    assert notes["chi-thi-45-ct-tw-2025"].citation_name == "Chỉ thị 45-CT/TW"
    assert notes["luat-bau-cu-85-2015-qh13"].issued == "2015-06-25"
    assert notes["luat-bau-cu-85-2015-qh13"].amended_by == ["83/2025/QH15"]


# --------------------------------------------------------------------------------------------
# front matter errors
# --------------------------------------------------------------------------------------------


def test_malformed_front_matter_names_file_and_line(tmp_path):
    bad = write(tmp_path / "x.md", '---\nid: x\ntitle: "ok"\nstatus: [unclosed\nkind: luat\n---\n# X\n\nbody\n')
    with pytest.raises(LoadError) as info:
        load_document(bad)
    err = info.value
    assert err.path == bad
    assert err.line == 5  # the YAML parser notices the broken flow sequence on the next key
    assert str(err).startswith(f"{bad}:5: front matter")


def test_yaml_error_line_is_offset_by_front_matter_start(tmp_path):
    bad = write(tmp_path / "y.md", "---\nid: y\ntitle: a: b\n---\nbody\n")
    with pytest.raises(LoadError) as info:
        load_document(bad)
    assert info.value.line == 3
    assert ":3: front matter" in str(info.value)


def test_unclosed_front_matter(tmp_path):
    bad = write(tmp_path / "z.md", "---\nid: z\ntitle: t\n# Z\n")
    with pytest.raises(LoadError) as info:
        load_document(bad)
    assert info.value.line == 1 and "---" in info.value.message


@pytest.mark.parametrize(
    ("key_line", "word"),
    [
        ("status: con-hieu", "status"),
        ("kind: van-ban", "kind"),
        ("issued: 14/04/2025", "issued"),
        ("effective: 2025-02-30", "effective"),
        ("id: Bad_ID", "id"),
        ("text_form: ban-sao", "text_form"),
        ("source_urls: {a: 1}", "source_urls"),
    ],
)
def test_invalid_value_reports_line_of_key(tmp_path, key_line, word):
    bad = write(tmp_path / "v.md", f'---\ntitle: "T"\nnumber: "1/2020/QH14"\n{key_line}\n---\n# T\n\nbody\n')
    assert_load_error(bad, 4, word)


def test_duplicate_key_is_an_error(tmp_path):
    bad = write(tmp_path / "d.md", "---\nid: d\nstatus: tham-khao\nstatus: con-hieu-luc\n---\nbody\n")
    with pytest.raises(LoadError) as info:
        load_document(bad)
    assert info.value.line == 4


def test_missing_id_and_title_are_inferred(tmp_path):
    p = write(tmp_path / "Nghị định Thử_nghiệm 2024.md", "---\nkind: nghi-dinh\n---\n\n# Tiêu đề thử\n\nNội dung.\n")
    doc = load_document(p)
    assert doc.id == "nghi-dinh-thu-nghiem-2024"
    assert doc.title == "Tiêu đề thử"
    assert doc.body_line == 4 and doc.text.startswith("\n# Tiêu đề thử")
    assert doc.status == "tham-khao"


def test_dates_become_iso_strings(tmp_path):
    doc = load_document(write(tmp_path / "g.md", GOOD_NOTE))
    assert doc.issued == "2025-04-14" and doc.effective == ""
    assert doc.source_urls == ["https://example.org/a"]
    assert doc.meta()["issued"] == "2025-04-14"


def test_text_and_metadata_are_nfc(tmp_path):
    nfd = unicodedata.normalize("NFD", GOOD_NOTE.replace('title: "Ví dụ"', 'title: "Luật Bầu cử hoà giải"'))
    doc = load_document(write(tmp_path / "n.md", nfd))
    assert doc.title == "Luật Bầu cử hòa giải"  # NFC + new-style tone placement
    assert unicodedata.is_normalized("NFC", doc.text)
    assert "Điều 1" in doc.text


def test_loading_keeps_hoac_intact(tmp_path):
    doc = load_document(write(tmp_path / "h.txt", "Giơ tay hoặc bỏ phiếu kín; dấu ngoặc.\n"))
    assert "hoặc" in doc.text and "ngoặc" in doc.text


def test_crlf_and_bom(tmp_path):
    p = tmp_path / "crlf.md"
    p.write_bytes(("\ufeff" + GOOD_NOTE).replace("\n", "\r\n").encode("utf-8"))
    doc = load_document(p)
    assert doc.id == "vi-du" and "\r" not in doc.text and doc.body_line == 9


def test_not_utf8_names_line(tmp_path):
    p = tmp_path / "latin.txt"
    p.write_bytes("dòng một\n".encode() + "dòng hai".encode("latin-1"))
    with pytest.raises(LoadError) as info:
        load_document(p)
    assert info.value.line == 2 and "UTF-8" in info.value.message


def test_empty_document_is_an_error(tmp_path):
    with pytest.raises(LoadError, match="no text"):
        load_document(write(tmp_path / "e.md", "---\nid: e\n---\n\n"))


def test_unsupported_and_missing(tmp_path):
    with pytest.raises(LoadError, match="unsupported"):
        load_document(write(tmp_path / "a.rtf", "x"))
    with pytest.raises(LoadError, match="not found"):
        load_document(tmp_path / "nothing.md")


def test_slugify():
    assert slugify("Điều 27") == "dieu-27"
    assert slugify("  Nghị định 33/2023/NĐ-CP ") == "nghi-dinh-33-2023-nd-cp"
    assert slugify("!!!") == ""


# --------------------------------------------------------------------------------------------
# iter_documents
# --------------------------------------------------------------------------------------------


def test_iter_documents_returns_good_files_and_errors(tmp_path):
    write(tmp_path / "a.md", GOOD_NOTE)
    write(tmp_path / "sub" / "b.txt", "Điều 1. Tên\nNội dung.\n")
    write(tmp_path / "sub" / "b.yaml", "id: b-txt\ntitle: B\nstatus: con-hieu-luc\n")
    bad = write(tmp_path / "c.md", "---\nid: c\nstatus: sai\n---\nbody\n")
    write(tmp_path / "README.md", "# Hướng dẫn\n")
    write(tmp_path / ".hidden.md", GOOD_NOTE)
    write(tmp_path / ".git" / "x.md", GOOD_NOTE)
    write(tmp_path / "notes.yaml", "id: not-a-doc\n")
    write(tmp_path / "image.png", "binary")
    docs, errors = iter_documents([tmp_path])
    assert [d.id for d in docs] == ["vi-du", "b-txt"]
    assert len(errors) == 1
    assert errors[0].path == bad and errors[0].line == 3
    assert docs[1].status == "con-hieu-luc" and docs[1].title == "B"


def test_iter_documents_duplicate_id_and_missing_path(tmp_path):
    write(tmp_path / "a.md", GOOD_NOTE)
    write(tmp_path / "b.md", GOOD_NOTE)
    docs, errors = iter_documents([tmp_path, tmp_path / "a.md", tmp_path / "missing"])
    assert [d.id for d in docs] == ["vi-du"]
    messages = [e.message for e in errors]
    assert any("duplicate id" in m for m in messages)
    assert any("not found" in m for m in messages)


def test_sidecar_errors_name_the_sidecar(tmp_path):
    write(tmp_path / "s.txt", "Nội dung.\n")
    side = write(tmp_path / "s.yaml", "id: s\ntitle: S\nstatus: khong-ro\n")
    with pytest.raises(LoadError) as info:
        load_document(tmp_path / "s.txt")
    assert info.value.path == side and info.value.line == 3


def test_txt_without_sidecar_is_inferred(tmp_path):
    doc = load_document(write(tmp_path / "Công văn số 12.txt", "\n  Công văn về kiêm nhiệm  \nNội dung.\n"))
    assert doc.id == "cong-van-so-12"
    assert doc.title == "Công văn về kiêm nhiệm"
    assert doc.kind == "khac" and doc.status == "tham-khao"


# --------------------------------------------------------------------------------------------
# HTML, PDF, DOCX
# --------------------------------------------------------------------------------------------

HTML = """<!doctype html>
<html><head><title>Trang hỏi đáp</title><style>p { color: red }</style>
<script>var secret = "KHÔNG ĐƯỢC XUẤT HIỆN";</script></head>
<body><nav><a href="/">Trang chủ</a> menu điều hướng</nav>
<h1>Hỏi đáp về kiêm nhiệm</h1>
<p>Đoạn một có <b>chữ đậm</b> và
   xuống dòng.</p>
<ul><li>Mục thứ nhất</li><li>Mục thứ hai</li></ul>
<h2>Điều 27. Những trường hợp không được tham gia</h2>
<p>Người ứng cử không được làm thành viên Ban bầu cử.</p>
<script>document.write("cũng không")</script>
<!-- chú thích ẩn -->
<table><tr><td>Cấp tỉnh</td><td>2</td></tr></table>
</body></html>"""


def test_html_drops_script_and_keeps_structure(tmp_path):
    doc = load_document(write(tmp_path / "page.html", HTML))
    assert doc.title == "Trang hỏi đáp"
    assert "KHÔNG ĐƯỢC" not in doc.text and "cũng không" not in doc.text and "color" not in doc.text
    assert "menu điều hướng" not in doc.text and "chú thích ẩn" not in doc.text
    lines = doc.text.split("\n")
    assert "Hỏi đáp về kiêm nhiệm" in lines
    assert "Đoạn một có chữ đậm và xuống dòng." in lines
    assert "Mục thứ nhất" in lines and "Mục thứ hai" in lines
    assert "Điều 27. Những trường hợp không được tham gia" in lines
    assert "Cấp tỉnh | 2" in lines
    passages = chunk_document(doc)
    assert [p.section for p in passages] == ["Điều 27"]
    assert "Người ứng cử" in passages[0].text


def test_html_title_falls_back_to_h1(tmp_path):
    doc = load_document(write(tmp_path / "p.htm", "<html><body><h1>Tiêu đề chính</h1><p>Nội dung.</p></body></html>"))
    assert doc.title == "Tiêu đề chính"
    assert doc.id == "p"


def make_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF whose text layer holds ``lines`` (Unicode via ToUnicode)."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "50 800 Td"]
    for ln in lines:
        ops.append("<" + "".join(f"{ord(c):04X}" for c in ln) + "> Tj T*")
    ops.append("ET")
    content = "\n".join(ops).encode("ascii")
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        b"1 beginbfrange <0000> <FFFF> <0000> endbfrange\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Helvetica /Encoding /Identity-H"
        b" /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Helvetica"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 >>",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PDF_LINES = [
    "NGHỊ ĐỊNH THỬ NGHIỆM",
    "Chương I",
    "QUY ĐỊNH CHUNG",
    "Điều 1. Phạm vi điều chỉnh",
    "1. Nghị định này quy định chế độ phụ cấp kiêm nhiệm.",
    "2. Áp dụng với cán bộ, công chức cấp xã.",
    "Điều 2. Mức phụ cấp",
    "a) Hưởng 10% mức lương hiện hưởng.",
]


def test_pdf_with_text_layer_loads_and_chunks(tmp_path):
    pdf = tmp_path / "nd-thu.pdf"
    pdf.write_bytes(make_pdf(PDF_LINES))
    write(tmp_path / "nd-thu.yaml", 'id: nd-thu\ntitle: "Nghị định thử"\nnumber: "1/2024/NĐ-CP"\nkind: nghi-dinh\n'
          "status: con-hieu-luc\n")
    doc = load_document(pdf)
    assert doc.id == "nd-thu" and doc.status == "con-hieu-luc" and doc.kind == "nghi-dinh"
    assert "Điều 1. Phạm vi điều chỉnh" in doc.text.split("\n")
    passages = chunk_document(doc)
    assert [p.section for p in passages] == ["Điều 1", "Điều 2"]
    assert passages[0].label == "Điều 1, Nghị định 1/2024/NĐ-CP"
    assert passages[0].chapter == "Chương I"
    assert "2. Áp dụng với cán bộ" in passages[0].text and "10%" in passages[1].text


def test_pdf_without_sidecar_infers_metadata(tmp_path):
    pdf = tmp_path / "Quyết định 5.pdf"
    pdf.write_bytes(make_pdf(PDF_LINES))
    doc = load_document(pdf)
    assert doc.id == "quyet-dinh-5" and doc.title == "NGHỊ ĐỊNH THỬ NGHIỆM"


def test_corrupt_pdf_and_docx_are_load_errors(tmp_path):
    for name in ("broken.pdf", "broken.docx"):
        p = tmp_path / name
        p.write_bytes(b"%PDF-1.4 this is not really a file" if name.endswith("pdf") else b"PK\x03\x04junk")
        with pytest.raises(LoadError) as info:
            load_document(p)
        assert info.value.path == p and name in str(info.value)
    docs, errors = iter_documents([tmp_path])
    assert docs == [] and len(errors) == 2


def test_docx_with_sidecar_loads_and_chunks(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("Luật thử nghiệm về kiêm nhiệm", level=1)
    document.add_paragraph("Căn cứ Hiến pháp.")
    document.add_heading("Điều 1. Phạm vi", level=2)
    document.add_paragraph("1. Luật này quy định việc kiêm nhiệm.")
    document.add_paragraph("a) Điểm a của khoản 1.")
    document.add_heading("Điều 2. Giải thích từ ngữ", level=2)
    document.add_paragraph("Kiêm nhiệm là việc một người đồng thời giữ hai chức vụ.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Cấp xã"
    table.rows[0].cells[1].text = "180"
    path = tmp_path / "luat-thu.docx"
    document.save(path)
    write(tmp_path / "luat-thu.yml", 'id: luat-thu\ntitle: "Luật thử"\nshort_title: "Luật Thử"\nnumber: "9/2024/QH15"\n'
          "kind: luat\nstatus: thi-diem\n")
    doc = load_document(path)
    assert doc.id == "luat-thu" and doc.status == "thi-diem"
    lines = doc.text.split("\n")
    assert lines[0] == "Luật thử nghiệm về kiêm nhiệm" and "Điều 1. Phạm vi" in lines and "Cấp xã | 180" in lines
    passages = chunk_document(doc)
    assert [p.section for p in passages] == ["Điều 1", "Điều 2"]
    assert passages[1].label == "Điều 2, Luật Thử 9/2024/QH15"
    assert "a) Điểm a" in passages[0].text and "Cấp xã | 180" in passages[1].text


def test_docx_title_inferred_from_heading(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("Ghi chú mở đầu.")
    document.add_heading("Hướng dẫn thực hiện", level=1)
    document.add_paragraph("Nội dung.")
    path = tmp_path / "hd.docx"
    document.save(path)
    doc = load_document(path)
    assert doc.title == "Hướng dẫn thực hiện" and doc.id == "hd"


# --------------------------------------------------------------------------------------------
# validity: expired/replaced_by, "> Áp dụng:" section markers, "> Ghi chú biên soạn:" notes
# --------------------------------------------------------------------------------------------

PERIOD_NOTE = """---
id: vi-du-thoi-ky
title: "Ví dụ thời kỳ"
number: "9/2015/QH13"
kind: luat
status: con-hieu-luc
effective: 2015-09-01
expired: 2030-12-31
replaced_by: ["10/2030/QH16", "11/2030/QH16"]
---
# Ví dụ thời kỳ

> Ghi chú biên soạn: Khi trả lời, cần nói rõ
> thời kỳ người hỏi quan tâm.

## Điều 1. Bản hiện hành

> Áp dụng: valid_from=2025-07-01

Ban có từ 9 đến 15 thành viên.

## Điều 1 (bản trước ngày 01/7/2025). Bản cũ

> Áp dụng: valid_to=2025-06-30; elections=2021, 2016

Ban có từ 7 đến 9 thành viên.
> Ghi chú biên soạn: Không được ghép hai bản.

## Điều 2. Không đổi

Điều này giữ nguyên.
"""


def test_expired_replaced_by_and_editorial_are_loaded(tmp_path):
    doc = load_document(write(tmp_path / "a.md", PERIOD_NOTE))
    assert doc.expired == "2030-12-31" and doc.replaced_by == ["10/2030/QH16", "11/2030/QH16"]
    assert doc.editorial == ["Khi trả lời, cần nói rõ thời kỳ người hỏi quan tâm.", "Không được ghép hai bản."]
    assert "Ghi chú biên soạn" not in doc.text and "Áp dụng" not in doc.text and "> " not in doc.text
    assert [m.period for m in doc.section_periods] == [
        SectionPeriod("2025-07-01", "", ()), SectionPeriod("", "2025-06-30", (2016, 2021))
    ]
    assert [(m.heading, m.occurrence) for m in doc.section_periods] == [
        ("## Điều 1. Bản hiện hành", 0), ("## Điều 1 (bản trước ngày 01/7/2025). Bản cũ", 0)]


def test_period_follows_its_heading_when_other_sections_change(tmp_path):
    """Markers are anchored to their heading, so editing another section keeps every period in place."""
    doc = load_document(write(tmp_path / "a.md", PERIOD_NOTE))
    edited = replace(doc, text=doc.text.replace("Ban có từ 9", "Ban (đã sửa) có từ 9"))
    before = [(p.id, p.valid_from, p.valid_to, p.elections) for p in chunk_document(doc)]
    assert [(p.id, p.valid_from, p.valid_to, p.elections) for p in chunk_document(edited)] == before
    repeated = "---\nid: r\n---\n# R\n\n## Mục\n\nA.\n\n## Mục\n\n> Áp dụng: elections=2021\n\nB.\n"
    passages = chunk_document(load_document(write(tmp_path / "r.md", repeated)))
    assert [p.elections for p in passages] == ["", "2021"]


def test_section_periods_reach_passages_and_inherit_the_document(tmp_path):
    doc = load_document(write(tmp_path / "a.md", PERIOD_NOTE))
    passages = chunk_document(doc)
    by_heading = {p.heading: p for p in passages}
    current = by_heading["Điều 1. Bản hiện hành"]
    old = by_heading["Điều 1 (bản trước ngày 01/7/2025). Bản cũ"]
    same = by_heading["Điều 2. Không đổi"]
    assert (current.valid_from, current.valid_to, current.elections) == ("2025-07-01", "2030-12-31", "")
    assert (old.valid_from, old.valid_to, old.elections) == ("2015-09-01", "2025-06-30", "2016,2021")
    assert (same.valid_from, same.valid_to) == ("2015-09-01", "2030-12-31")
    assert old.text == "Điều 1 (bản trước ngày 01/7/2025). Bản cũ\nBan có từ 7 đến 9 thành viên."
    for p in passages:  # offsets still locate every body in the (annotation-free) text
        assert p.text.split("\n", 1)[1] == doc.text[p.start : p.end].strip()
    meta = current.to_metadata()
    assert meta["valid_from"] == "2025-07-01" and meta["elections"] == ""
    assert Passage.from_record(current.id, current.text, meta) == current
    assert old.hash != Passage(**{**old.__dict__, "valid_to": "", "hash": ""}).hash


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        pytest.param("> Áp dụng: valid_from=2025-13-01", "valid_from=2025-13-01", id="bad-date"),
        pytest.param("> Áp dụng: valid_from=2025-07-01; valid_to=2025-06-30", "valid_to=2025-06-30", id="reversed"),
        pytest.param("> Áp dụng: tu=2025-07-01", "không hợp lệ / invalid item", id="unknown-key"),
        pytest.param("> Áp dụng: elections=hai nghìn", "is not a year", id="bad-election"),
        pytest.param("> Áp dụng: valid_to=2025-06-30; valid_to=2025-06-30", "duplicate key", id="duplicate"),
        pytest.param("> Áp dụng:", "empty", id="empty"),
        pytest.param("> Ap dung: valid_from=01/7/2025", "is not an ISO date", id="no-diacritics-not-iso"),
    ],
)
def test_bad_period_marker_names_file_and_line(tmp_path, marker, message):
    path = write(tmp_path / "x.md", f"---\nid: x\n---\n# X\n\n## Điều 1. A\n\n{marker}\n\nNội dung.\n")
    assert_load_error(path, 8, message)


def test_period_marker_must_stand_under_a_heading_once(tmp_path):
    body = "---\nid: x\n---\n# X\n\n## Điều 1. A\n\nNội dung.\n> Áp dụng: valid_to=2025-06-30\n"
    assert_load_error(write(tmp_path / "x.md", body), 9, "right under")
    twice = "---\nid: x\n---\n# X\n\n## Điều 1. A\n> Áp dụng: valid_to=2025-06-30\n> Áp dụng: elections=2016\nA.\n"
    assert_load_error(write(tmp_path / "y.md", twice), 8, "already has")


def test_expired_before_effective_and_bad_replaced_by(tmp_path):
    bad = PERIOD_NOTE.replace("expired: 2030-12-31", "expired: 2010-01-01")
    assert_load_error(write(tmp_path / "a.md", bad), 8, "expired")
    bad = PERIOD_NOTE.replace('replaced_by: ["10/2030/QH16", "11/2030/QH16"]', "replaced_by: {a: 1}")
    assert_load_error(write(tmp_path / "b.md", bad), 9, "replaced_by")


def test_marker_in_a_fence_is_text(tmp_path):
    body = "---\nid: x\n---\n# X\n\n## Mẫu\n\n```\n> Áp dụng: valid_to=2025-06-30\n```\n"
    doc = load_document(write(tmp_path / "x.md", body))
    assert "> Áp dụng: valid_to=2025-06-30" in doc.text and not doc.section_periods


def test_txt_with_sidecar_takes_markers_in_any_article(tmp_path):
    write(tmp_path / "luat.yaml", "id: luat-txt\nkind: luat\nnumber: 1/2024/QH15\neffective: 2024-07-01\n")
    path = write(tmp_path / "luat.txt", "LUẬT THỬ\nĐiều 1. Phạm vi\nÁp dụng: valid_to=2025-06-30; elections=2021\n"
                                        "Nội dung một.\nĐiều 2. Đối tượng\nNội dung hai.\n")
    doc = load_document(path)
    passages = chunk_document(doc)
    assert [(p.section, p.valid_from, p.valid_to, p.elections) for p in passages] == [
        ("Điều 1", "2024-07-01", "2025-06-30", "2021"), ("Điều 2", "2024-07-01", "", "")
    ]
    assert "Áp dụng" not in passages[0].text


def test_knowledge_annotations(notes):
    """The notes carry the periods they state, and no maintainer guidance reaches a passage."""
    nd92 = notes["nghi-dinh-92-2009-nd-cp"]
    assert (nd92.expired, nd92.replaced_by) == ("2023-07-31", ["33/2023/NĐ-CP"])
    luat_passages = chunk_document(notes["luat-bau-cu-85-2015-qh13"])
    old = next(p for p in luat_passages if p.section.startswith("Số lượng thành viên trước"))
    assert (old.valid_to, old.elections) == ("2025-06-30", "2016,2021")
    d24 = next(p for p in luat_passages if p.section == "Điều 24" and "9 đến 15" in p.text)
    assert d24.valid_from == "2025-07-01" and not d24.valid_to
    editorial = 0
    for doc in notes.values():
        editorial += len(doc.editorial)
        for p in chunk_document(doc):
            for phrase in ("Khi trả lời, cần", "Không được ghép", "Không dùng ghi chú này", "Ghi chú này chỉ dùng",
                           "Ghi chú này nên dùng", "Khi trích dẫn, chỉ nên", "trước khi trả lời dứt khoát",
                           "Ghi chú biên soạn", "> Áp dụng"):
                assert phrase not in p.text, (p.id, phrase)
    assert editorial >= 8


# DOCX bombs (issue #26, N10): refused from the zip directory, before any part is unpacked or parsed
def _docx_with(tmp_path: Path, name: str, *, body_paragraphs: int = 0, extra_parts: int = 0,
               zero_part: int = 0) -> Path:
    import io
    import zipfile

    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("Điều 1. Phạm vi điều chỉnh")
    buf = io.BytesIO()
    document.save(buf)
    path = tmp_path / name
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * body_paragraphs)
            z.writestr(info.filename, data)
        for i in range(extra_parts):
            z.writestr(f"extra/part{i}.xml", b"<a/>")
        if zero_part:
            with z.open("word/media/zeros.bin", "w", force_zip64=True) as f:
                chunk = bytes(1 << 20)
                for _ in range(zero_part >> 20):
                    f.write(chunk)
    return path


def test_docx_bombs_are_refused_before_parsing(tmp_path):
    from assistant.ingest.documents import DOCX_MAX_PARAGRAPHS, DOCX_MAX_PARTS, DocumentTooLargeError

    zeros = _docx_with(tmp_path, "zeros.docx", zero_part=8 << 20)
    assert zeros.stat().st_size < 100_000, "a small file that names a large part"
    with pytest.raises(DocumentTooLargeError, match="giải nén.*unpacks to"):
        load_document(zeros, max_bytes=200_000)  # 2 MB unpacked at most
    many = _docx_with(tmp_path, "many-paragraphs.docx", body_paragraphs=DOCX_MAX_PARAGRAPHS + 1)
    with pytest.raises(DocumentTooLargeError, match=f"{DOCX_MAX_PARAGRAPHS + 2:,} đoạn văn"):
        load_document(many)
    parts = _docx_with(tmp_path, "many-parts.docx", extra_parts=DOCX_MAX_PARTS)
    with pytest.raises(DocumentTooLargeError, match="phần > giới hạn.*parts > limit") as err:
        load_document(parts)
    assert str(err.value).startswith(str(parts)), "the error names the file"
    # under every limit it loads as before
    fine = _docx_with(tmp_path, "fine.docx", body_paragraphs=200, extra_parts=10)
    assert load_document(fine).text.count("\n") >= 200
