"""Question analysis, part 1: what kind of answer a question expects, and what is not a question at all.

Matched on the folded question (diacritics off, so typed-without-accents questions read the same):
the *intent* decides how the answer is composed (a yes/no question opens with the sentence that
carries the verdict, an amount question with the figure for the asked level); greetings and thanks
get a fixed reply; requests to invent law or play a role are refused outright.
"""

from __future__ import annotations

import re

from assistant.answering.messages import GREETING, THANKS
from assistant.text import collapse_ws, fold

INTENTS = ("yesno", "amount", "when", "authority", "source", "validity", "change", "list", "other")

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
WHEN_RE = re.compile(
    r"\b(khi nao|ngay nao|nam nao|bao gio|thoi han|bao lau|luc nao|thoi diem nao|thang nao|han chot|"
    r"cham nhat (la )?(bao|khi|ngay|may)|ket thuc nhiem vu)\b"
)

_YESNO_RE = re.compile(
    r"(co duoc|duoc khong|co phai|phai khong|duoc phep|co the .* khong|khong\??$|hay khong|duoc ko|"
    r"co bi|co can|co con|dung khong)"
)

_LIST_RE = re.compile(r"\b(gom (nhung )?(gi|ai|nhung)|la gi|nhung (chuc danh|ai|gi|truong hop) nao|bao gom|"
                      r"cac (chuc danh|mo hinh|truong hop) nao|nhung mo hinh)\b")

_INTENT_RULES = (("change", _CHANGE_RE), ("validity", _VALIDITY_RE), ("source", _SOURCE_RE), ("authority", _AUTHORITY_RE),
                 ("amount", _AMOUNT_RE), ("when", WHEN_RE), ("yesno", _YESNO_RE), ("list", _LIST_RE))

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


# --- requests that are not questions about the sources ---------------------------------------------
_INJECTION_RE = re.compile(
    r"\b(bia (ra|dat|mot)|hay bia|tu bia|sang tac|tuong tuong (ra|la)|gia vo|dong vai|nhap vai|gia su (ban|em) la|"
    r"hay (la|lam) (mot|nguoi)|invent|make up|pretend|role ?play|act as|jailbreak|che do (dev|developer|nha phat trien)|"
    r"khong can (trich dan|nguon|can cu)|bo qua (nguon|trich dan)|tra loi (tu do|theo y ban|khong can nguon)|"
    r"viet (gia|mot dieu luat|mot van ban gia)|lam gia|gia mao|dan (ra )?mot dieu (luat )?khong co|"
    r"(trich dan|viet|ghi) (nhu|giong nhu|nhu la) (that|van ban that|luat that)|nhu that)\b"
)


def is_injection(text: str) -> bool:
    """Requests to invent law, drop the sources or play a role: refused outright."""
    return bool(_INJECTION_RE.search(fold(collapse_ws(text))))


_GREETING_RE = re.compile(
    r"^(xin chao|chao( ban| em| anh| chi| tro ly)?|hello|hi|alo|hey|good (morning|afternoon|evening)|"
    r"ban (la ai|lam duoc gi)|tro ly (la ai|lam duoc gi))[\s!.?,]*(ban|tro ly|nhe|a)?[\s!.?]*$"
)

_THANKS_RE = re.compile(r"^(cam on|thank(s| you)|ok cam on|cam on ban|tot qua|ok|tam biet|bye|hen gap lai)[\s!.?,a-z]*$")

_CHITCHAT_RE = re.compile(
    r"^(ban (khoe|co khoe|the nao|ten (la )?gi|bao nhieu tuoi|o dau)|hom nay (the nao|ra sao)|ban co (vui|met)|"
    r"how are you|what can you do|ban giup (duoc )?gi|ban biet gi)[\s!.?,a-z]*$"
)


def small_talk(question: str) -> str | None:
    """A fixed reply for greetings, thanks and small talk, which are not questions to retrieve for."""
    f = collapse_ws(fold(question))
    if len(f) <= 40 and _GREETING_RE.match(f):
        return GREETING
    if len(f) <= 30 and _THANKS_RE.match(f):
        return THANKS
    if len(f) <= 40 and _CHITCHAT_RE.match(f):
        return GREETING
    return None
