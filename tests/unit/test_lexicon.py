"""The vocabulary as data (``assistant/lexicon/lexicon.yaml``): read once, checked, and the one source the code uses."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from assistant.answering.entities import BODIES, LEVELS, POSTS, PROVINCES, detect_entities
from assistant.answering.mentions import POST_NAMES
from assistant.lexicon import LEXICON, LexiconError, parse
from assistant.models import KIND_LABELS, KINDS, STATUS_LABELS
from assistant.text import fold
from tests.support import REPO

RAW = yaml.safe_load((REPO / "assistant" / "lexicon" / "lexicon.yaml").read_text("utf-8"))


def test_the_code_reads_the_lexicon() -> None:
    assert KINDS == tuple(k["id"] for k in RAW["document_kinds"])
    assert KIND_LABELS["nghi-dinh"] == "Nghị định" and STATUS_LABELS["het-hieu-luc"] == "hết hiệu lực"
    assert POSTS == tuple(p["folded"] for p in RAW["posts"]) and POST_NAMES["truong thon"] == "Trưởng thôn"
    assert list(LEVELS) == [lv["id"] for lv in RAW["levels"]] and LEXICON.local_levels == ("tinh", "huyen", "xa", "thon")
    assert set(BODIES) == {b["folded"] for b in RAW["bodies"]} and PROVINCES == tuple(RAW["provinces"])


def test_entries_are_consistent() -> None:
    # folded forms are folded, kinds named by words exist, a kind's number suffix is tried
    for p in LEXICON.posts:
        assert p.folded == fold(p.folded) and all(f == fold(f) for f in p.forms), p
    for lv in LEXICON.levels:
        assert all(c == fold(c) for c in lv.cues) and (not lv.mention or re.compile(lv.mention)), lv
    assert {k for _, ks in LEXICON.document_words for k in ks} <= set(KINDS)
    assert {k.id for k in LEXICON.document_kinds if k.number_suffix} == set(LEXICON.number_suffix_order)
    assert len(set(PROVINCES)) == len(PROVINCES)


@pytest.mark.parametrize(("question", "post"), [
    ("Trưởng ban tuyên giáo có được kiêm không?", "truong ban tuyen giao"),  # short
    ("Năm 2024 ông Ba ở xã Tân Phú, Long An làm bí thư chi bộ ấp, nay muốn làm thêm trưởng ấp thì được hưởng "
     "những gì?", "truong ap"),  # long, with a place, a year and a name that do not matter
    ("pho giam doc so co duoc kiem nhiem khong", "pho giam doc"),  # without diacritics
])
def test_a_question_names_the_posts_of_the_lexicon(question: str, post: str) -> None:
    assert post in detect_entities(question).posts


def test_a_new_post_or_kind_is_one_entry() -> None:
    data = copy.deepcopy(RAW)
    data["posts"].append({"folded": "chu tich hoi nong dan", "name": "Chủ tịch Hội Nông dân"})
    data["document_kinds"].append({"id": "cong-van", "label": "Công văn", "rule": False, "primacy": 1})
    lex = parse(data)
    assert lex.post_names["chu tich hoi nong dan"] == "Chủ tịch Hội Nông dân"
    assert lex.kind_labels["cong-van"] == "Công văn" and "cong-van" not in lex.rule_kinds


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["document_words"].append({"word": "cv", "kinds": ["cong-van"]}), "unknown kinds"),
    (lambda d: d["posts"].append({"folded": "x", "generic": ["sometimes"]}), "generic contexts"),
    (lambda d: d["document_kinds"].append({"id": "luat", "label": "Luật"}), "duplicate id"),
    (lambda d: d["statuses"].append({"id": "moi"}), "label"),
    (lambda d: d.__setitem__("abbreviations", ["UBND"]), "abbreviations"),
])
def test_a_malformed_entry_is_refused_by_name(change, message: str) -> None:  # noqa: ANN001
    data = copy.deepcopy(RAW)
    change(data)
    with pytest.raises(LexiconError, match=message):
        parse(data)


def test_the_wheel_carries_the_data_file() -> None:
    pyproject = (REPO / "pyproject.toml").read_text("utf-8")
    assert '"assistant.lexicon" = ["*.yaml"]' in pyproject
    assert (Path(__file__).resolve().parents[2] / "assistant" / "lexicon" / "lexicon.yaml").is_file()
