"""The period a question speaks for, and whether a passage applies in it.

Pure functions (no model, no index): :func:`detect_period` reads the time a question names
("năm 2021", "trong cuộc bầu cử 2016", "trước ngày 01/7/2025", "khi còn cấp huyện", "hiện nay",
with or without diacritics); :func:`passage_valid_at`, :func:`passage_overlaps` and
:func:`period_label` compare it with a passage's ``valid_from``/``valid_to``/``elections``
(see ``knowledge/README.md``), so ranking and composition can prefer what applies at the asked date
and name the period of anything else.
"""

from __future__ import annotations

import calendar
import re
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from .text import fold

# The 2025 reform (two-level local government, Luật 83/2025/QH15): the day the district level ended.
REFORM_2025 = date(2025, 7, 1)
# Election days named in knowledge/ (luat-bau-cu-85-2015-qh13.md); other election years are whole years.
ELECTION_DAYS = {2016: date(2016, 5, 22), 2021: date(2021, 5, 23), 2026: date(2026, 3, 15)}
_YEAR_MIN, _YEAR_MAX = 1945, 2100

Source = Literal["question", "as_of"]


@dataclass(frozen=True)
class Period:
    """A span of time (``None`` = open end) with a Vietnamese label and the elections it names."""

    start: date | None
    end: date | None
    label: str
    source: Source = "question"
    elections: tuple[int, ...] = field(default=())

    def reference(self, today: date) -> date:
        """The one date whose rules answer for this period.

        An election period is judged on its (first) election day; a span ending in the future or
        open-ended after ``today`` on ``today``; otherwise on its last day (the latest state within it).
        """
        if self.elections and self.start is not None:
            return self.start
        if self.end is None:
            return max(self.start, today) if self.start is not None else today
        if self.start is not None and self.start <= today <= self.end:
            return today
        return self.end

    def contains(self, d: date) -> bool:
        return (self.start is None or self.start <= d) and (self.end is None or d <= self.end)

    def to_json(self) -> dict[str, Any]:
        """The ``period`` object of an answer: ``{"from", "to", "label", "source", "elections"}``."""
        return {
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "label": self.label,
            "source": self.source,
            "elections": list(self.elections),
        }


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------


def vn_date(d: date) -> str:
    """``01/7/2025``: day with two digits, month without a leading zero, as the notes write it."""
    return f"{d.day:02d}/{d.month}/{d.year}"


def _iso(value: str | date | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def parse_elections(value: str | Iterable[int] | None) -> tuple[int, ...]:
    """``"2016,2021"`` (as stored in passage metadata) or an iterable of years -> ``(2016, 2021)``."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(sorted({int(t) for t in re.findall(r"\d{4}", value)}))
    return tuple(sorted({int(y) for y in value}))


def format_elections(elections: Iterable[int]) -> str:
    """``(2016, 2021)`` -> ``"2016–2021"``; ``(2016,)`` -> ``"bầu cử 2016"``."""
    ys = sorted(set(elections))
    if not ys:
        return ""
    if len(ys) == 1:
        return f"bầu cử {ys[0]}"
    return f"{ys[0]}–{ys[-1]}"


def format_period(start: str | date | None = None, end: str | date | None = None,
                  elections: str | Iterable[int] | None = None) -> str:
    """A short Vietnamese description of a span: ``từ 01/7/2025``, ``đến 30/6/2025``,
    ``01/8/2019–31/7/2023``, or the elections it speaks for (``2016–2021``); ``""`` when open."""
    ys = parse_elections(elections)
    if ys:
        return format_elections(ys)
    s, e = _iso(start), _iso(end)
    if s and e:
        return f"{vn_date(s)}–{vn_date(e)}"
    if s:
        return f"từ {vn_date(s)}"
    if e:
        return f"đến {vn_date(e)}"
    return ""


# --------------------------------------------------------------------------------------------
# passages
# --------------------------------------------------------------------------------------------


def _passage_span(passage: Any) -> tuple[date | None, date | None, tuple[int, ...]]:
    return (_iso(getattr(passage, "valid_from", "")), _iso(getattr(passage, "valid_to", "")),
            parse_elections(getattr(passage, "elections", "")))


def passage_valid_at(passage: Any, d: date) -> bool:
    """Whether the passage applies on day ``d`` (open ends always do)."""
    start, end, _ = _passage_span(passage)
    return (start is None or start <= d) and (end is None or d <= end)


def passage_overlaps(passage: Any, period: Period) -> bool:
    """Whether the passage applies at some time in ``period``.

    When both name elections, they must share one (a section for the 2016 and 2021 elections does
    not speak for 2026, whatever its dates); otherwise the date spans must overlap.
    """
    start, end, elections = _passage_span(passage)
    if elections and period.elections:
        return bool(set(elections) & set(period.elections))
    if period.end is not None and start is not None and start > period.end:
        return False
    if period.start is not None and end is not None and end < period.start:
        return False
    return True


# kinds whose passages state rules ("Quy định cũ"); news, Q&A and summaries are "Thông tin cũ"
RULE_KINDS = ("luat", "nghi-dinh", "thong-tu", "nghi-quyet", "ket-luan", "quy-dinh", "chi-thi")


def period_label(passage: Any, as_of: date) -> str:
    """A citation badge for the passage seen from ``as_of``.

    ``"Quy định cũ · 2016–2021"`` / ``"Quy định cũ · đến 31/7/2023"`` when it stopped applying
    before ``as_of`` (``"Thông tin cũ · …"`` for news, Q&A and summaries); ``"Áp dụng từ 15/3/2026"`` when it starts later; ``"Hiện hành từ 01/7/2025"``
    when it applies and its section starts later than the document (a recent change); ``""`` when
    it plainly applies.
    """
    start, end, elections = _passage_span(passage)
    if end is not None and end < as_of:
        span = format_elections(elections) if elections else f"đến {vn_date(end)}"
        old = "Quy định cũ" if getattr(passage, "kind", "") in RULE_KINDS else "Thông tin cũ"
        return f"{old} · {span}"
    if start is not None and start > as_of:
        return f"Áp dụng từ {vn_date(start)}"
    doc_effective = _iso(getattr(passage, "effective", ""))
    if start is not None and start != doc_effective:
        return f"Hiện hành từ {vn_date(start)}"
    return ""


def period_fields(passage: Any, as_of: date | None = None) -> dict[str, str]:
    """``valid_from``, ``valid_to``, ``period_label`` of a citation (``as_of`` default: today)."""
    return {
        "valid_from": getattr(passage, "valid_from", "") or "",
        "valid_to": getattr(passage, "valid_to", "") or "",
        "period_label": period_label(passage, as_of or date.today()),
    }


# --------------------------------------------------------------------------------------------
# detection
# --------------------------------------------------------------------------------------------

_DASH = r"[ \t]*(?:-|–|—|đến|den|toi|tới)[ \t]*"
_BEFORE = r"truoc(?:[ \t]+khi)?"
_AFTER = r"(?:sau(?:[ \t]+khi)?|ke[ \t]+tu|tu(?:[ \t]+khi)?)"
# words that name a document: a year or date right after them is the document's, not a period
_DOC_WORDS = (r"(?:luat|nghi[ \t]+dinh|thong[ \t]+tu|nghi[ \t]+quyet|quyet[ \t]+dinh|ket[ \t]+luan"
              r"|chi[ \t]+thi|phap[ \t]+lenh|hien[ \t]+phap)")
_REFORM_WORDS = (r"(?:cai[ \t]+cach|sap[ \t]+nhap|sap[ \t]+xep|sua[ \t]+doi|bo[ \t]+cap[ \t]+huyen"
                 r"|chinh[ \t]+quyen[ \t]+(?:dia[ \t]+phuong[ \t]+)?hai[ \t]+cap|chinh[ \t]+quyen[ \t]+2[ \t]+cap)")

_RE_BEFORE_AFTER_REFORM = re.compile(rf"\btruoc[ \t]+va[ \t]+sau[ \t]+(?:khi[ \t]+)?{_REFORM_WORDS}"
                                     r"(?:[ \t]+(?:nam[ \t]+)?2025)?")
_RE_REFORM = re.compile(rf"\b(?P<rel>{_BEFORE}|{_AFTER})[ \t]+(?:cuoc[ \t]+|dot[ \t]+|viec[ \t]+)?{_REFORM_WORDS}"
                        r"(?:[ \t]+(?:nam[ \t]+)?(?P<y>\d{4}))?")
_RE_DISTRICT = re.compile(r"\b(?:khi|luc|thoi|hoi|thoi[ \t]+ky|giai[ \t]+doan)[ \t]+(?:van[ \t]+)?con[ \t]+"
                          r"(?:cap[ \t]+)?huyen\b")
_RE_TERM = re.compile(rf"\bnhiem[ \t]+ky[ \t]+(?P<a>\d{{4}}){_DASH}(?P<b>\d{{4}})\b")
_RE_DATE = re.compile(
    rf"(?:\b(?P<rel>{_BEFORE}|{_AFTER}|den|toi|cho[ \t]+den)[ \t]+)?(?:(?:ngay)[ \t]+)?"
    r"\b(?P<d>\d{1,2})[ \t]*(?:/|-|\.|[ \t]+thang[ \t]+)(?P<m>\d{1,2})[ \t]*(?:/|-|\.|[ \t]+nam[ \t]+)(?P<y>\d{4})\b"
)
_RE_MONTH = re.compile(
    rf"(?:\b(?P<rel>{_BEFORE}|{_AFTER}|den|toi)[ \t]+)?\bthang[ \t]+(?P<m>\d{{1,2}})[ \t]*(?:/|-|[ \t]+nam[ \t]+|[ \t]+)(?P<y>\d{{4}})\b"
)
_RE_ELECTION = re.compile(r"\b(?:cuoc[ \t]+|ky[ \t]+|dot[ \t]+)?bau[ \t]+cu(?:[ \t]+[^\d\s]+){0,8}?[ \t]+(?:nam[ \t]+)?"
                          r"(?P<y>\d{4})\b")
_RE_YEAR = re.compile(rf"(?:\b(?P<rel>{_BEFORE}|{_AFTER}|den|toi)[ \t]+)?\b(?P<nam>nam[ \t]+)?(?P<y>(?:19|20)\d{{2}})\b")
_RE_DOC_YEAR = re.compile(
    rf"(?:\b{_DOC_WORDS}(?:[ \t]+[\w./-]+){{0,3}}|\b(?:quy[ \t]+dinh|van[ \t]+ban)[ \t]+(?:so[ \t]+)?\S*\d\S*"
    r"|\bsua[ \t]+doi)[ \t]+(?:ban[ \t]+hanh[ \t]+)?(?:(?:ngay|nam)[ \t]+)?$"
)
_RE_NOW = re.compile(r"\b(?:hien[ \t]+nay|hien[ \t]+hanh|hien[ \t]+tai|hien[ \t]+gio|bay[ \t]+gio|luc[ \t]+nay"
                     r"|thoi[ \t]+diem[ \t]+nay|moi[ \t]+nhat)\b")
_RE_THIS_YEAR = re.compile(r"\bnam[ \t]+nay\b")


def _is_election_year(y: int) -> bool:
    return y in ELECTION_DAYS or (y >= 2011 and (y - 2011) % 5 == 0 and y < 2026) or (y > 2026 and (y - 2026) % 5 == 0)


def _year_span(y: int) -> tuple[date, date]:
    return date(y, 1, 1), date(y, 12, 31)


def _month_span(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def _relative(rel: str | None, start: date, end: date, what: str) -> tuple[date | None, date | None, str]:
    """Apply "trước / sau / từ / đến" to a span: ``(start, end, label)``."""
    rel = (rel or "").strip()
    if rel.startswith("truoc"):
        return None, start - timedelta(days=1), f"trước {what}"
    if rel.startswith("sau"):
        return end + timedelta(days=1), None, f"sau {what}"
    if rel.startswith(("tu", "ke")):
        return start, None, f"từ {what}"
    if rel in ("den", "toi", "cho den", "cho  den"):
        return None, end, f"đến {what}"
    return start, end, what


def _election_period(y: int) -> Period:
    day = ELECTION_DAYS.get(y)
    if day is not None:
        return Period(day, day, f"cuộc bầu cử năm {y}", "question", (y,))
    s, e = _year_span(y)
    return Period(s, e, f"cuộc bầu cử năm {y}", "question", (y,))


def detect_periods(text: str, today: date) -> list[Period]:
    """Every period ``text`` names, in order of appearance (see :func:`detect_period`)."""
    folded = fold(text)
    found: list[tuple[int, Period]] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    def add(m: re.Match[str], period: Period | None) -> None:
        if period is not None and free(m.start(), m.end()):
            taken.append((m.start(), m.end()))
            found.append((m.start(), period))

    for m in _RE_BEFORE_AFTER_REFORM.finditer(folded):
        add(m, Period(None, REFORM_2025 - timedelta(days=1), f"trước ngày {vn_date(REFORM_2025)}"))
        found.append((m.start() + 1, Period(REFORM_2025, None, f"từ ngày {vn_date(REFORM_2025)}")))
    for m in _RE_REFORM.finditer(folded):
        y = m.group("y")
        if y and int(y) != 2025:
            continue
        if m.group("rel").startswith("truoc"):
            add(m, Period(None, REFORM_2025 - timedelta(days=1), f"trước ngày {vn_date(REFORM_2025)}"))
        else:
            add(m, Period(REFORM_2025, None, f"từ ngày {vn_date(REFORM_2025)}"))
    for m in _RE_DISTRICT.finditer(folded):
        add(m, Period(None, REFORM_2025 - timedelta(days=1), f"khi còn cấp huyện (trước ngày {vn_date(REFORM_2025)})"))
    for m in _RE_TERM.finditer(folded):
        a, b = int(m.group("a")), int(m.group("b"))
        if not (_YEAR_MIN <= a < b <= _YEAR_MAX):
            continue
        start = ELECTION_DAYS.get(a, date(a, 1, 1))
        end = ELECTION_DAYS[b] - timedelta(days=1) if b in ELECTION_DAYS else date(b, 12, 31)
        elections = (a,) if _is_election_year(a) else ()
        add(m, Period(start, end, f"nhiệm kỳ {a}–{b}", "question", elections))
    for m in _RE_DATE.finditer(folded):
        try:
            d = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        except ValueError:
            continue
        if not _YEAR_MIN <= d.year <= _YEAR_MAX:
            continue
        if not m.group("rel") and _RE_DOC_YEAR.search(folded[:m.start("d")]):
            continue  # "Kết luận 137-KL/TW ngày 28/3/2025": the document's date, not a period
        s, e, label = _relative(m.group("rel"), d, d, f"ngày {vn_date(d)}")
        add(m, Period(s, e, label))
    for m in _RE_MONTH.finditer(folded):
        y, mo = int(m.group("y")), int(m.group("m"))
        if not (1 <= mo <= 12 and _YEAR_MIN <= y <= _YEAR_MAX):
            continue
        s0, e0 = _month_span(y, mo)
        s, e, label = _relative(m.group("rel"), s0, e0, f"tháng {mo}/{y}")
        add(m, Period(s, e, label))
    for m in _RE_ELECTION.finditer(folded):
        y = int(m.group("y"))
        if _is_election_year(y) and free(m.start("y"), m.end("y")):
            add(m, _election_period(y))
    for m in _RE_YEAR.finditer(folded):
        y = int(m.group("y"))
        if not (_YEAR_MIN <= y <= _YEAR_MAX) or not free(m.start("y"), m.end("y")):
            continue
        before = folded[max(0, m.start("y") - 1):m.start("y")]
        after = folded[m.end("y"):m.end("y") + 1]
        if before in ("/", "-", "–") or after in ("/", "-", "–"):
            continue  # a document number (85/2015/QH13) or a range handled elsewhere
        if not m.group("rel") and _RE_DOC_YEAR.search(folded[:m.start("y")]):
            continue  # "Luật Bầu cử năm 2015", "Quy định 208 năm 2019": the document's year, not a period
        if not m.group("rel") and _is_election_year(y) and "bau cu" in folded:
            add(m, _election_period(y))
            continue
        s0, e0 = _year_span(y)
        s, e, label = _relative(m.group("rel"), s0, e0, f"năm {y}")
        add(m, Period(s, e, label))
    for m in _RE_THIS_YEAR.finditer(folded):
        s, e = _year_span(today.year)
        add(m, Period(s, e, f"năm nay ({today.year})"))
    for m in _RE_NOW.finditer(folded):
        add(m, Period(today, today, "hiện nay"))
    found.sort(key=lambda t: t[0])
    return [p for _, p in found]


def detect_period(text: str, today: date) -> Period | None:
    """The period a question names, or ``None`` (then the answer speaks for ``as_of``/today).

    Explicit dates (``01/7/2025``, ``ngày 1 tháng 7 năm 2025``), months (``tháng 5/2021``), years,
    election years (``bầu cử 2021``), terms (``nhiệm kỳ 2021–2026``), "trước / sau / từ / đến" before
    any of them, "trước / sau cải cách (sáp nhập) 2025", "khi còn cấp huyện", and "hiện nay / hiện
    hành / bây giờ / năm nay". Document years ("Luật … năm 2015", ``85/2015/QH13``) are not periods.
    With several, the first one named wins (:func:`detect_periods` gives them all).
    """
    periods = detect_periods(text, today)
    return periods[0] if periods else None


_ISO_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
AS_OF_ERROR = ("as_of phải là một ngày hợp lệ dạng YYYY-MM-DD (ví dụ 2021-05-23)",
               "as_of must be a valid date YYYY-MM-DD (e.g. 2021-05-23)")


def parse_as_of(value: object) -> date | None:
    """``"2021-05-23"`` -> a date; ``None``/``""`` -> None; anything else raises ``ValueError``
    whose message is ``"<Vietnamese> / <English>"`` (see :data:`AS_OF_ERROR`)."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY_RE.match(value.strip()):
        try:
            d = date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if _YEAR_MIN <= d.year <= _YEAR_MAX:
                return d
    # reprlib: a bounded echo; repr() of a value nested ~1,000 deep recursed into a 500
    raise ValueError(f"{AS_OF_ERROR[0]} / {AS_OF_ERROR[1]}; nhận được / got {reprlib.repr(value)}")


def as_of_period(as_of: date, today: date) -> Period:
    """The period of a question that names none: the request's ``as_of`` (default today)."""
    label = "hiện nay" if as_of == today else f"ngày {vn_date(as_of)}"
    return Period(as_of, as_of, label, "as_of")


def resolve_period(text: str, as_of: date | None, today: date) -> Period:
    """The question's own period if it names one, else :func:`as_of_period`."""
    return detect_period(text, today) or as_of_period(as_of or today, today)
