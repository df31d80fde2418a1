"""The question as one typed object, built once: what was typed, what is searched, what was asked.

Every step of the chain takes and returns a ``Turn`` (no loose dict keys that name the question
four ways). Analysis is deterministic and rule-based so that each rule can be unit-tested without
a model: the *intent* decides how the answer is composed (a yes/no question opens with the
sentence that carries the verdict, an amount question with the figure for the asked level), the
*entities* are what the evidence must contain (a decree, province or amount the sources lack is
refused, not answered from whatever is nearby), and the *period* says which rules apply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from assistant.text import collapse_ws, fold, nfc, proper_names, tokenize_folded

INTENTS = ("yesno", "amount", "when", "authority", "source", "validity", "change", "list", "other")

# --- intent ---------------------------------------------------------------------------------------
# matched on the folded standalone question, in this order (the first that matches wins)
_VALIDITY_RE = re.compile(
    r"\b(hieu luc|da bi sua doi|da duoc sua doi|bi sua doi|con nguyen|het hieu luc|co hieu luc|hieu luc (den|tu) (khi|bao gio|nao)|con ap dung|con duoc ap dung|"
    r"con duoc thuc hien|da bi (bai bo|thay the|thay)|bi bai bo|duoc thay (the )?bang|thay the boi|"
    r"van ban nao thay|con (dung|dung duoc|gia tri)|con khong|con nua khong|con khong nhi)\b"
)
_CHANGE_RE = re.compile(
    r"\b(thay doi (gi|nhu the nao|the nao|ra sao|nhung gi)|khac (gi|nhau|nhu the nao|the nao|ra sao)|"
    r"sua doi (gi|nhung gi|nhu the nao)|diem (gi )?moi|truoc va sau|so voi truoc|co gi moi)\b"
)
# which text governs it: answered by the provision's label, built from the passage's metadata
_SOURCE_RE = re.compile(
    r"\b((quy dinh|neu|ghi) (tai|o|trong) (van ban|nghi dinh|luat|thong tu|dieu|dieu khoan|khoan) nao|"
    r"theo (quy dinh|van ban|nghi dinh|luat|thong tu|dieu) nao|can cu (vao )?(van ban|quy dinh|dieu|nghi dinh|luat) nao|"
    r"(van ban|nghi dinh|luat|thong tu|dieu) nao quy dinh|dieu (luat )?nao)\b"
)
_AUTHORITY_RE = re.compile(
    r"\b(ai (quyet dinh|thanh lap|co tham quyen|bo nhiem|phe duyet|ban hanh|la nguoi)|co quan nao|cap nao (quyet dinh|thanh lap)|"
    r"do ai|do co quan nao|tham quyen (cua )?(ai|co quan nao)|thuoc tham quyen)\b"
)
_AMOUNT_RE = re.compile(
    r"\b(bao nhieu|may (nguoi|thanh vien|truong hop|chuc danh|muc|lan|phan tram)|so luong|ty le|muc phu cap|"
    r"muc huong|muc bao nhieu|he so|phu cap\b[^?.]{0,40}\btinh (the nao|nhu the nao|ra sao))\b"
)  # "phụ cấp kiêm nhiệm tính thế nào?" asks for the rate
# "tối đa" folds to "tôi đã" ("toi da"): only with a figure word after it does it ask for an amount
_WHEN_RE = re.compile(
    r"\b(khi nao|ngay nao|nam nao|bao gio|thoi han|bao lau|luc nao|thoi diem nao|thang nao|han chot|"
    r"cham nhat (la )?(bao|khi|ngay|may)|ket thuc nhiem vu)\b"
)
_YESNO_RE = re.compile(
    r"(co duoc|duoc khong|co phai|phai khong|duoc phep|co the .* khong|khong\??$|hay khong|duoc ko|"
    r"co bi|co can|co con|dung khong)"
)
_LIST_RE = re.compile(r"\b(gom (nhung )?(gi|ai|nhung)|la gi|nhung (chuc danh|ai|gi|truong hop) nao|bao gom|"
                      r"cac (chuc danh|mo hinh|truong hop) nao|nhung mo hinh)\b")

# --- entities -------------------------------------------------------------------------------------
LEVELS: dict[str, tuple[str, ...]] = {
    # level -> folded cue words (whole-word); "xã" inside "xã hội" is excluded below
    "tinh": ("cap tinh", "tinh", "thanh pho truc thuoc trung uong", "tinh uy"),
    "huyen": ("cap huyen", "huyen", "quan", "thi xa", "huyen uy"),
    "xa": ("cap xa", "xa", "phuong", "thi tran", "dac khu", "dang uy xa"),
    "thon": ("thon", "to dan pho", "truong ap", "ap, khu pho", "khu pho", "chi bo"),
    "trung-uong": ("trung uong", "quoc hoi", "chinh phu"),
}
_LEVEL_WORDS = {  # the narrow cues used to substitute a level in a follow-up
    "tinh": "cấp tỉnh", "huyen": "cấp huyện", "xa": "cấp xã", "thon": "thôn, tổ dân phố",
}
# election bodies: "ban bầu cử" is also inside "ủy ban bầu cử"; match longest first
BODIES: dict[str, str] = {
    "uy ban bau cu": "ủy ban bầu cử", "ban bau cu": "ban bầu cử", "to bau cu": "tổ bầu cử",
    "hoi dong bau cu quoc gia": "hội đồng bầu cử quốc gia",
}
POSTS = (
    "bi thu chi bo", "bi thu", "pho bi thu", "chu tich uy ban nhan dan", "chu tich ubnd", "chu tich hoi dong nhan dan",
    "chu tich hdnd", "chu tich", "truong thon", "to truong to dan pho", "truong ban cong tac mat tran",
    "truong ap", "pho giam doc", "giam doc", "truong ban tuyen giao", "thanh vien", "truong ban", "pho truong ban",
    "can bo", "cong chuc", "nguoi hoat dong khong chuyen trach", "dai bieu", "nguoi ung cu",
)
# posts that say nothing of whose they are ("thành viên" of which body?): alone, no subject of a question's own
GENERIC_POSTS = frozenset({"can bo", "cong chuc", "thanh vien", "chu tich", "bi thu", "truong ban", "dai bieu"})
_DOC_KINDS = {
    "nghi dinh": "Nghị định", "nd": "Nghị định", "luat": "Luật", "thong tu": "Thông tư", "tt": "Thông tư",
    "quy dinh": "Quy định", "qd": "Quyết định/Quy định", "quyet dinh": "Quyết định", "ket luan": "Kết luận",
    "kl": "Kết luận", "nghi quyet": "Nghị quyết", "nq": "Nghị quyết", "chi thi": "Chỉ thị", "ct": "Chỉ thị",
    "cong van": "Công văn",
}
_DOC_RE = re.compile(
    r"\b(" + "|".join(sorted(_DOC_KINDS, key=len, reverse=True)) + r")\s*(?:so\s*)?"
    r"(\d{1,4}(?:/\d{4})?(?:/[a-z]{1,4}(?:-[a-z]{1,4})?\d*)?(?:-[a-z]{1,4}/[a-z]{1,4})?)(?![\d/])"
    r"|\b(\d{1,4}/\d{4}/[a-z]{2,4}(?:-[a-z]{1,4})?\d*|\d{1,4}-(?:kl|nq|qd|ct|hd)/(?:tw|tu|bct))\b"
)
_PERCENT_RE = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:%|phan tram)|\b\d{1,3}(?:\.\d{3})+\s?(?:dong|d\b|vnd)|"
                         r"\b\d+(?:[.,]\d+)?\s?(?:trieu|nghin|ngan) dong")
# a number stated as a rule in the question ("tối đa 5 chức danh"): the sources must state it too
_CLAIMED_NUMBER_RE = re.compile(
    r"\b(toi da|toi thieu|khong qua|it nhat|tren|duoi|muc|bang|len toi|len den|gioi han)\s+(\d+(?:[.,]\d+)?)"
    r"(\s?(?:%|phan tram|chuc danh|nguoi|thanh vien|lan|trieu|nghin|dong|ngay|thang|nam|muc))?"
)
_YEAR_RE = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
# 63 provinces and cities as they were before 2025, and the 34 after: how a question names a place.
PROVINCES = (
    "An Giang", "Bà Rịa - Vũng Tàu", "Bà Rịa", "Vũng Tàu", "Bắc Giang", "Bắc Kạn", "Bạc Liêu", "Bắc Ninh",
    "Bến Tre", "Bình Định", "Bình Dương", "Bình Phước", "Bình Thuận", "Cà Mau", "Cần Thơ", "Cao Bằng",
    "Đà Nẵng", "Đắk Lắk", "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam",
    "Hà Nội", "Hà Tĩnh", "Hải Dương", "Hải Phòng", "Hậu Giang", "Hòa Bình", "Hưng Yên", "Khánh Hòa",
    "Kiên Giang", "Kon Tum", "Lai Châu", "Lâm Đồng", "Lạng Sơn", "Lào Cai", "Long An", "Nam Định", "Nghệ An",
    "Ninh Bình", "Ninh Thuận", "Phú Thọ", "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh",
    "Quảng Trị", "Sóc Trăng", "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế",
    "Huế", "Tiền Giang", "Hồ Chí Minh", "Sài Gòn", "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc",
    "Yên Bái",
)
_PROVINCE_FOLDED = sorted(((fold(p), p) for p in PROVINCES), key=lambda x: -len(x[0]))

# --- follow-ups -----------------------------------------------------------------------------------
_FOLLOWUP_RE = re.compile(
    r"^(con|the con|vay|the|va|nhung|neu|truong hop|con truong hop|con doi voi|doi voi|o|voi|con o|vay con|"
    r"the thi|neu vay|luc do|khi do|tai|trong do|trong so do|rieng|so voi|con voi)\b|"
    r"(thi sao|the nao|ra sao|nhu the nao|thi the nao|nua khong|nua|cung vay|cung the|do|nay|kia|ay)\??$|"
    r"\b(truong hop (do|nay|tren)|nguoi (do|nay)|chuc danh (do|nay)|van ban (do|nay|tren)|dieu (do|nay)|"
    r"quy dinh (do|nay|tren)|cai (do|nay)|mo hinh (do|nay|tren)|nghi dinh (do|nay)|luc do|thoi diem do|no)\b"
)
_FOLLOWUP_FILLER = {"con", "thi", "sao", "vay", "neu", "the", "nao", "nua", "va", "nhung", "truong", "hop", "do",
                    "nay", "ra", "khong", "co", "duoc"}
_QUESTION_WORDS = {"bao", "nhieu", "gi", "ai", "dau", "la", "may", "cua", "cho", "nhu", "khi", "luc", "mot", "cac",
                   "nhung", "phai", "can", "lam", "hay", "voi", "tai", "ve"}
_ANAPHOR_SUBJECT_RE = re.compile(
    r"\b(mo hinh|quy dinh|van ban|nghi dinh|truong hop|chuc danh|nguoi|dieu|cai|luat|thong tu|ket luan|khoan|muc|"
    r"khoan tien|khoan phu cap|che do|so lieu|con so)\s+"
    r"(nay|do|tren|ay|kia)\b"
)

# --- requests that are not questions about the sources ---------------------------------------------
_INJECTION_RE = re.compile(
    r"\b(bia (ra|dat|mot)|hay bia|tu bia|sang tac|tuong tuong (ra|la)|gia vo|dong vai|nhap vai|gia su (ban|em) la|"
    r"hay (la|lam) (mot|nguoi)|invent|make up|pretend|role ?play|act as|jailbreak|che do (dev|developer|nha phat trien)|"
    r"khong can (trich dan|nguon|can cu)|bo qua (nguon|trich dan)|tra loi (tu do|theo y ban|khong can nguon)|"
    r"viet (gia|mot dieu luat|mot van ban gia)|lam gia|gia mao|dan (ra )?mot dieu (luat )?khong co|"
    r"(trich dan|viet|ghi) (nhu|giong nhu|nhu la) (that|van ban that|luat that)|nhu that)\b"
)


@dataclass(frozen=True)
class Entities:
    """What the question names, in folded form for matching and as typed for messages."""

    documents: tuple[str, ...] = ()  # "Nghị định 45/2024", "34-KL/TW" as typed (NFC)
    document_numbers: tuple[str, ...] = ()  # folded numbers: "45/2024", "34-kl/tw"
    places: tuple[str, ...] = ()  # "Quảng Nam"
    posts: tuple[str, ...] = ()  # folded post names
    levels: tuple[str, ...] = ()  # "tinh", "xa", "thon", "huyen", "trung-uong"
    bodies: tuple[str, ...] = ()  # folded election bodies: "ban bau cu", "uy ban bau cu"
    amounts: tuple[str, ...] = ()  # claimed figures as typed: "tối đa 5 chức danh", "30%"
    years: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class Turn:
    """One user message on its way through the chain.

    ``raw`` is what was typed; ``cleaned`` has NFC and instruction-override phrases removed;
    ``standalone`` is the question with its conversation resolved (what is searched); ``focus``
    is the literal follow-up when the standalone question was rebuilt from earlier turns.
    """

    raw: str
    cleaned: str
    standalone: str
    folded: str
    history: tuple[tuple[str, str], ...] = ()
    focus: str | None = None
    steered: bool = False
    injection: bool = False
    intent: str = "other"
    entities: Entities = field(default_factory=Entities)
    as_of: date = field(default_factory=date.today)
    today: date = field(default_factory=date.today)  # the real date: an as_of before it asks about the past
    period: Any = None  # assistant.period.Period when the question names a time, else None
    # knobs a caller sets per request
    top_k: int | None = None
    filters: dict[str, Any] | None = None
    answerer: str | None = None
    # what the chain's steps add on the way (each step returns the turn with its part filled in)
    hits: tuple[Any, ...] = ()  # ScoredPassage, best first
    search_query: str = ""  # the query as the searcher read it (abbreviations expanded, diacritics restored)
    decision: str = ""  # "" = answer; else why not: small-talk | injection | out-of-domain | below-threshold | missing
    missing: tuple[str, ...] = ()  # named things the sources lack
    suggestions: tuple[str, ...] = ()  # in-field questions offered when the question is out of the field
    reply: str | None = None  # a fixed reply (small talk) instead of an answer
    answer: Any = None  # assistant.answer.Answer once composed
    t0: float = 0.0
    t_retrieved: float = 0.0

    def with_(self, **changes: Any) -> Turn:
        return replace(self, **changes)

    @property
    def asked_date(self) -> date:
        """The date whose rules the answer must give: the question's own period, else ``as_of``."""
        p = self.period
        if p is not None:
            return p.reference(self.as_of)
        return self.as_of

    def to_json(self) -> dict[str, Any]:
        return {"standalone": self.standalone, "intent": self.intent, "entities": self.entities.to_json()}


# --- analysis -------------------------------------------------------------------------------------

def _has_word(folded: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", folded) is not None


_INTENT_RULES = (("change", _CHANGE_RE), ("validity", _VALIDITY_RE), ("source", _SOURCE_RE), ("authority", _AUTHORITY_RE),
                 ("amount", _AMOUNT_RE), ("when", _WHEN_RE), ("yesno", _YESNO_RE), ("list", _LIST_RE))


STILL_THERE_RE = re.compile(r"\b(con khong|con nua khong|con khong nhi)\b")  # "… (có) còn không?"
# what can be "still in force" rather than "still there": a text, a model, a regime, an allowance
_DOCUMENT_CUE_RE = re.compile(r"\b(nghi dinh|luat|thong tu|quyet dinh|nghi quyet|ket luan|chi thi|quy dinh|van ban|"
                              r"hien phap|huong dan|mo hinh|che do|chinh sach|phu cap|thi diem)\b|\d+/\d{4}|\d+-[a-z]+/[a-z]+")


def detect_intent(folded: str) -> str:
    """The kind of answer the question expects (first matching rule wins; see module docstring).

    "… còn không?" asks whether something is still in force only when it names a text, a model or a
    regime: "Cấp huyện có còn không?" asks whether the level still exists, a yes/no question.
    """
    f = collapse_ws(folded).strip(" ?.!")
    intent = next((name for name, rule in _INTENT_RULES if rule.search(f)), "other")
    if intent == "validity" and not _DOCUMENT_CUE_RE.search(f) and STILL_THERE_RE.search(f) and all(
            STILL_THERE_RE.fullmatch(m.group(0)) for m in _VALIDITY_RE.finditer(f)):
        return "yesno"
    return intent


def detect_levels(folded: str) -> tuple[str, ...]:
    f = re.sub(r"\bxa hoi\b|\bchinh tri - xa hoi\b|\bban bau cu\b|\bban cong tac\b|\bban tuyen giao\b|\bban chap hanh\b|"
               r"\bban bi thu\b|\bban thuong\b|\bban hanh\b|\bban dau\b|\bco ban\b|\bvan ban\b|\bban than\b|\bbang\b",
               " ", folded)
    found = []
    for level, cues in LEVELS.items():
        if any(_has_word(f, c) for c in cues):
            found.append(level)
    if "thon" in found and not any(_has_word(f, c) for c in ("thon", "to dan pho", "truong ap", "khu pho")):
        found.remove("thon")  # "chi bộ" alone does not make a question about the village
    return tuple(found)


def detect_entities(text: str) -> Entities:
    folded = fold(collapse_ws(nfc(text)))
    docs, numbers = [], []
    for m in _DOC_RE.finditer(folded):
        num = (m.group(2) or m.group(3) or "").strip("-/")
        if not num or (m.group(1) and not re.search(r"\d", num)):
            continue
        if m.group(1) and "/" not in num and "-" not in num and len(num) == 4 and num.startswith(("19", "20")):
            continue  # "luật 2025" is a year, not a number
        numbers.append(num)
        docs.append(collapse_ws(nfc(text))[m.start(): m.end()] if len(folded) == len(collapse_ws(nfc(text)))
                     else num)  # as typed, for messages
    places: list[str] = []
    for fp, p in _PROVINCE_FOLDED:
        if _has_word(folded, fp) and not any(fp in fold(x) for x in places):
            places.append(p)
    for name in proper_names(text):
        if name not in places and not any(fold(name) in fold(x) or fold(x) in fold(name) for x in places):
            if not _DOC_RE.search(fold(name)):
                places.append(name)
    bodies = []
    rest = folded
    for fb in sorted(BODIES, key=len, reverse=True):
        if _has_word(rest, fb):
            bodies.append(fb)
            rest = re.sub(rf"(?<![\w]){re.escape(fb)}(?![\w])", " ", rest)
    posts = tuple(p for p in POSTS if _has_word(folded, p))
    typed = collapse_ws(nfc(text))
    same = len(typed) == len(folded)  # fold keeps one character per NFC character: map spans back

    def as_typed(m: re.Match[str]) -> str:
        return (typed[m.start(): m.end()] if same else m.group(0)).strip()

    amounts = [as_typed(m) for m in _PERCENT_RE.finditer(folded)]
    amounts += [as_typed(m) for m in _CLAIMED_NUMBER_RE.finditer(folded) if not _YEAR_RE.fullmatch(m.group(2))]
    years = tuple(sorted({int(y) for y in _YEAR_RE.findall(_DOC_RE.sub(" ", folded))}))
    return Entities(tuple(docs), tuple(numbers), tuple(places), posts, detect_levels(folded), tuple(bodies),
                    tuple(dict.fromkeys(amounts)), years)


def is_injection(text: str) -> bool:
    """Requests to invent law, drop the sources or play a role: refused outright."""
    return bool(_INJECTION_RE.search(fold(collapse_ws(text))))


# --- follow-up resolution ------------------------------------------------------------------------

def _user_turns(history: Sequence[tuple[str, str]]) -> list[str]:
    return [c for r, c in history if r == "user" and c.strip()]


def is_followup(question: str, history: Sequence[tuple[str, str]]) -> bool:
    if not _user_turns(history):
        return False
    fq = fold(question).strip(" ?.!")
    content = [t for t in tokenize_folded(question) if len(t) > 1]
    e = detect_entities(question)
    if (e.places or e.documents) and len(content) > 5 and not _ANAPHOR_SUBJECT_RE.search(fq):
        return False  # "Ở Bến Tre, cấp xã có bao nhiêu…" names its own subject, whatever its first word
    if asks_on_its_own(fq, e, content):
        return False  # "Nếu tôi là người ứng cử thì có được làm thành viên Tổ bầu cử không?" opens like one, is not
    m = _FOLLOWUP_RE.search(fq)
    own_subject = bool(e.posts or e.bodies or e.documents or e.places) and len(content) > 5
    if m is not None and m.start() > 0 and m.end() == len(fq) and own_subject:
        m = None  # "Phụ cấp kiêm nhiệm của công chức xã tính thế nào?" ends like a follow-up but has its subject
    if m is not None or _ANAPHOR_SUBJECT_RE.search(fq) or len(content) <= 4:
        return True
    # a short question with no subject of its own ("Kiêm 2, 3 nơi thì có được cộng dồn không?",
    # "cấp huyện chiếm bao nhiêu?") speaks of the conversation's subject, if it shares a word or a level with
    # it: "Lương tối thiểu vùng năm 2026 là bao nhiêu?" after a question on allowances is a new question
    # (read with the previous one it would pass the domain gate and get an answer from another field)
    if len(content) > 10 or e.posts or e.bodies or e.documents or e.places:
        return False
    own = {t for t in content if t not in _FOLLOWUP_FILLER and t not in _QUESTION_WORDS and not t.isdigit()}
    if e.levels and len(content) >= 5 and fq.endswith("khong"):
        return False  # "Thôn, tổ dân phố có còn không?" names its level and asks a whole yes/no question
    if bool(e.levels) or len(own) <= 2:
        return True
    # syllables compared with their diacritics when the question has them: "thủ tục" is not "bí thư"
    plain = fold(question) == question.lower()
    mine = own if plain else {w for w in re.findall(r"\w+", question.lower()) if fold(w) in own}
    said = {w for u in _user_turns(history)
            for w in (tokenize_folded(u) if plain else re.findall(r"\w+", u.lower()))}
    return bool(mine & said)


def asks_on_its_own(fq: str, e: Entities, content: Sequence[str]) -> bool:
    """A whole question about a subject it names itself is never merged with the previous one, whatever it
    opens with ("Vậy", "Còn", "Nếu", "Thế"): read with the conversation's subject it asks something else.

    Whole: its own intent (yes/no, how many, when, …) and at least four words of its own. Its subject: an
    election body, a document, a specific post ("bí thư chi bộ", "người ứng cử"), or a generic one with its
    level ("công chức cấp xã"). A subject pointed back at ("người đó", "quy định này") is the conversation's.
    """
    if _ANAPHOR_SUBJECT_RE.search(fq) or detect_intent(fq) == "other":
        return False
    specific = [p for p in e.posts if p not in GENERIC_POSTS]
    subject = bool(e.bodies or e.documents or specific or (e.posts and e.levels))
    own = [t for t in content if t not in _FOLLOWUP_FILLER and t not in _QUESTION_WORDS and not t.isdigit()]
    return subject and len(own) >= 4


_VILLAGE_POSTS = (
    (r"bí thư cấp ủy thôn, tổ dân phố|bí thư cấp ủy|bí thư đảng ủy thôn, tổ dân phố|bí thư thôn, tổ dân phố",
     "bí thư chi bộ"),
    (r"chủ tịch (ủy ban nhân dân|ubnd) thôn, tổ dân phố|chủ tịch (ủy ban nhân dân|ubnd)", "trưởng thôn, tổ dân phố"),
)


_LEVEL_PHRASE_RE = re.compile(
    r"(?<!\w)(cấp tỉnh|cấp huyện|cấp xã|cấp thôn|ở tỉnh|ở huyện|ở xã|ở thôn|thôn, tổ dân phố|tổ dân phố|ấp, khu phố|"
    r"khu phố|thôn|tỉnh|huyện|xã|cap tinh|cap huyen|cap xa|o tinh|o huyen|o xa|o thon|thon|tinh|huyen|xa)(?!\w)(?! hội)",
    re.IGNORECASE)


def _substitute_level(prev: str, followup: str, new_levels: tuple[str, ...]) -> str | None:
    """``prev`` with its level replaced by the follow-up's own words ("cấp tỉnh" -> "cấp xã")."""
    if len(new_levels) != 1:
        return None
    m_new = _LEVEL_PHRASE_RE.search(followup)
    if m_new is None or not _LEVEL_PHRASE_RE.search(prev) or not detect_levels(fold(prev)):
        return None
    target = m_new.group(0)
    if fold(target) == target.lower():  # typed without diacritics: use the sources' spelling
        target = _LEVEL_WORDS.get(new_levels[0], target)
    if not target.lower().startswith(("cấp", "ở")) and new_levels[0] != "thon":
        target = f"cấp {target}"
    swapped = _LEVEL_PHRASE_RE.sub(target, prev)
    if new_levels[0] == "thon":
        # at the village the posts are the party cell secretary and the village head
        for a, b in _VILLAGE_POSTS:
            swapped = re.sub(a, b, swapped, flags=re.IGNORECASE)
    return collapse_ws(swapped)


def resolve_followup(question: str, history: Sequence[tuple[str, str]]) -> tuple[str, str | None]:
    """``(standalone question, focus)``: a follow-up is rebuilt from the conversation's subject.

    Earlier user turns are resolved first (a follow-up to a follow-up keeps the first subject).
    A follow-up that only swaps the level ("còn cấp xã thì sao?") becomes the previous question
    with that level; any other elliptical follow-up is read together with the previous question
    (its own words stay the focus for choosing sentences). ``focus`` is None for a standalone question.
    """
    question = collapse_ws(nfc(question))
    users = _user_turns(history)
    if not users or not is_followup(question, history):
        return question, None
    prev = collapse_ws(nfc(users[0]))
    for i in range(1, len(users)):  # the subject as the conversation has built it so far
        earlier = [("user", u) for u in users[:i]]
        prev = resolve_followup(users[i], earlier)[0] if is_followup(users[i], earlier) else collapse_ws(nfc(users[i]))
    fq = fold(question)
    own_intent = detect_intent(fq)
    new_levels = detect_levels(fq)
    content = [t for t in tokenize_folded(question) if len(t) > 1]
    if new_levels and own_intent in ("other", "amount") and len(content) <= 6:
        swapped = _substitute_level(prev, question, new_levels)
        if swapped is not None and swapped != prev:
            return swapped, question
    return f"{prev} {question}", question


def build_turn(question: str, history: Sequence[dict[str, str]] | None = None, *, as_of: date | None = None,
               top_k: int | None = None, filters: dict[str, Any] | None = None, answerer: str | None = None,
               strip_override: Any = None, detect_period: Any = None, today: date | None = None) -> Turn:
    """Normalise once, resolve the conversation, analyse intent, entities and period.

    ``strip_override`` and ``detect_period`` are injected by the chain (they live in their own
    modules); without them the turn has no override stripping and no period.
    """
    raw = question
    cleaned = collapse_ws(nfc(question))
    steered = False
    if strip_override is not None:
        cleaned, steered = strip_override(cleaned)
    hist = tuple((str(h.get("role", "")), collapse_ws(nfc(str(h.get("content", ""))))) for h in (history or []))
    standalone, focus = resolve_followup(cleaned, hist)
    folded = fold(standalone)
    intent = detect_intent(fold(cleaned))
    own_words = [t for t in tokenize_folded(cleaned) if len(t) > 1 and t not in _FOLLOWUP_FILLER]
    if intent == "other" and focus is not None and len(own_words) <= 5:
        intent = detect_intent(folded)  # "còn cấp xã thì sao?" asks what the previous question asked
    entities = detect_entities(cleaned if focus is not None else standalone)
    if focus is not None:
        # the follow-up's own names win; the subject carried over adds what the follow-up omits
        prev_entities = detect_entities(standalone)
        entities = Entities(
            documents=entities.documents or prev_entities.documents,
            document_numbers=entities.document_numbers or prev_entities.document_numbers,
            places=entities.places or prev_entities.places,
            posts=entities.posts or prev_entities.posts,
            levels=entities.levels or prev_entities.levels,
            bodies=entities.bodies or prev_entities.bodies,
            amounts=entities.amounts,
            years=entities.years or prev_entities.years,
        )
    real_today = today or date.today()
    today = as_of or real_today
    period = None
    if detect_period is not None:
        period = detect_period(cleaned, today)
        if period is None and focus is not None:
            period = detect_period(standalone, today)
    return Turn(raw=raw, cleaned=cleaned, standalone=standalone, folded=folded, history=hist, focus=focus,
                steered=steered, injection=is_injection(cleaned), intent=intent, entities=entities, as_of=today,
                today=real_today,
                period=period, top_k=top_k, filters=filters, answerer=answerer)


def sub_turns(turn: Turn) -> list[Turn]:
    """The questions of a message that asks two or more ("Tổ bầu cử có bao nhiêu thành viên? Ở đơn vị
    vũ trang … thì thế nào?"), each analysed alone; [] for a single question.

    Why: the best sentence for the whole message answers one part, and a reader whose first question
    goes unanswered has no answer. A part keeps the message's period and borrows what it leaves
    unnamed (the body, the level) from the others.
    """
    if turn.focus is not None:
        return []  # a follow-up is read with the previous turn: one question
    parts = [p.strip() + "?" for p in turn.cleaned.split("?") if len(tokenize_folded(p)) >= 3]
    if len(parts) < 2:
        return []
    whole = turn.entities
    out: list[Turn] = []
    for part in parts:
        e = detect_entities(part)
        e = replace(e, documents=e.documents or whole.documents, document_numbers=e.document_numbers or
                    whole.document_numbers, places=e.places or whole.places, posts=e.posts or whole.posts,
                    levels=e.levels or whole.levels, bodies=e.bodies or whole.bodies)
        folded = fold(part)
        intent = detect_intent(folded)
        out.append(replace(turn, cleaned=part, standalone=part, folded=folded, entities=e,
                           intent=intent if intent != "other" else turn.intent))
    return out
