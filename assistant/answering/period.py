"""The period a question speaks for.

Pure functions (no model, no index): :func:`detect_period` reads the time a question names
("năm 2021", "trong cuộc bầu cử 2016", "trước ngày 01/7/2025", "khi còn cấp huyện", "hiện nay",
with or without diacritics). Whether a passage applies in it is decided by the one validity
predicate, :func:`assistant.answering.validity.valid_on`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from assistant.answering.dates import YEAR_MAX, YEAR_MIN, parse_date, vn_date
from assistant.answering.milestones import MILESTONES
from assistant.text import fold

# The 2025 reform day and the election days come from the knowledge notes' front matter (milestones.py);
# an election year no note dates is a whole year.

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

    @property
    def heading(self) -> str:
        """How an answer opens for this period: "Trong cuộc bầu cử năm 2021", "Trước ngày 01/7/2025",
        "Tại ngày 01/7/2025" (a label that is already a phrase of time keeps its words)."""
        label = self.label
        if re.match(r"(trước|sau|từ|đến|khi)\b", label):
            return label[0].upper() + label[1:]
        if label.startswith("ngày "):
            return f"Tại {label}"
        return f"Trong {label}"

    def window(self, today: date) -> tuple[date | None, date | None]:
        """The span an answer for this period speaks for (``None`` = open end).

        An election (and a term named by its election) is one day, its election day: the bodies of
        2021 were formed under the rules of 23/5/2021, whatever changed later in the term. Any
        other period is its whole span ("năm 2022" takes every rule in force at some time in 2022).
        """
        if self.elections and self.start is not None:
            day = self.reference(today)
            return day, day
        return self.start, self.end

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
    s, e = parse_date(start), parse_date(end)
    if s and e:
        return f"{vn_date(s)}–{vn_date(e)}"
    if s:
        return f"từ {vn_date(s)}"
    if e:
        return f"đến {vn_date(e)}"
    return ""


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
                                     rf"(?:[ \t]+(?:nam[ \t]+)?{MILESTONES.reform_day.year})?")

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

# a year right after a document's name is part of the name ("Luật Mặt trận Tổ quốc 2015", "QĐ 208 năm 2019"):
# up to six words of the name, none of them a word that ends a name and starts the ask ("thì", "có", …)
_NAME_WORD = r"(?!(?:thi|la|co|duoc|khong|va|ma|nhung|nen|vi|khi|neu|tu|den|sau|truoc|cua|cho|ve)\b)[\w./-]+"
_RE_DOC_YEAR = re.compile(
    rf"(?:\b(?:{_DOC_WORDS}|qd|nd|tt|nq|kl|ct)(?:[ \t]+{_NAME_WORD}){{0,6}}|\b(?:quy[ \t]+dinh|van[ \t]+ban)[ \t]+(?:so[ \t]+)?\S*\d\S*"
    r"|\bsua[ \t]+doi)[ \t]+(?:ban[ \t]+hanh[ \t]+)?(?:(?:ngay|nam)[ \t]+)?$"
)

_RE_NOW = re.compile(r"\b(?:hien[ \t]+nay|hien[ \t]+hanh|hien[ \t]+tai|hien[ \t]+gio|bay[ \t]+gio|luc[ \t]+nay"
                     r"|thoi[ \t]+diem[ \t]+nay|moi[ \t]+nhat)\b")

_RE_THIS_YEAR = re.compile(r"\bnam[ \t]+nay\b")


def _is_election_year(y: int) -> bool:
    return y in MILESTONES.election_days or (y >= 2011 and (y - 2011) % 5 == 0 and y < 2026) or (y > 2026 and (y - 2026) % 5 == 0)


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
    day = MILESTONES.election_days.get(y)
    if day is not None:
        return Period(day, day, f"cuộc bầu cử năm {y}", "question", (y,))
    s, e = _year_span(y)
    return Period(s, e, f"cuộc bầu cử năm {y}", "question", (y,))


def detect_periods(text: str, today: date) -> list[Period]:
    """Every period ``text`` names, in order of appearance (see :func:`detect_period`)."""
    folded = fold(text)
    reform, election_days = MILESTONES.reform_day, MILESTONES.election_days
    found: list[tuple[int, Period]] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    def add(m: re.Match[str], period: Period | None) -> None:
        if period is not None and free(m.start(), m.end()):
            taken.append((m.start(), m.end()))
            found.append((m.start(), period))

    for m in _RE_BEFORE_AFTER_REFORM.finditer(folded):
        add(m, Period(None, reform - timedelta(days=1), f"trước ngày {vn_date(reform)}"))
        found.append((m.start() + 1, Period(reform, None, f"từ ngày {vn_date(reform)}")))
    for m in _RE_REFORM.finditer(folded):
        y = m.group("y")
        if y and int(y) != reform.year:
            continue
        if m.group("rel").startswith("truoc"):
            add(m, Period(None, reform - timedelta(days=1), f"trước ngày {vn_date(reform)}"))
        else:
            add(m, Period(reform, None, f"từ ngày {vn_date(reform)}"))
    for m in _RE_DISTRICT.finditer(folded):
        add(m, Period(None, reform - timedelta(days=1), f"khi còn cấp huyện (trước ngày {vn_date(reform)})"))
    for m in _RE_TERM.finditer(folded):
        a, b = int(m.group("a")), int(m.group("b"))
        if not (YEAR_MIN <= a < b <= YEAR_MAX):
            continue
        start = election_days.get(a, date(a, 1, 1))
        end = election_days[b] - timedelta(days=1) if b in election_days else date(b, 12, 31)
        elections = (a,) if _is_election_year(a) else ()
        add(m, Period(start, end, f"nhiệm kỳ {a}–{b}", "question", elections))
    for m in _RE_DATE.finditer(folded):
        try:
            d = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        except ValueError:
            continue
        if not YEAR_MIN <= d.year <= YEAR_MAX:
            continue
        if not m.group("rel") and _RE_DOC_YEAR.search(folded[:m.start("d")]):
            continue  # "Kết luận 137-KL/TW ngày 28/3/2025": the document's date, not a period
        s, e, label = _relative(m.group("rel"), d, d, f"ngày {vn_date(d)}")
        add(m, Period(s, e, label))
    for m in _RE_MONTH.finditer(folded):
        y, mo = int(m.group("y")), int(m.group("m"))
        if not (1 <= mo <= 12 and YEAR_MIN <= y <= YEAR_MAX):
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
        if not (YEAR_MIN <= y <= YEAR_MAX) or not free(m.start("y"), m.end("y")):
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


def period_years(text: str, today: date) -> set[int]:
    """Years ``text`` names as the time it asks about ("Năm 2022, …", "nhiệm kỳ 2021–2026"), not the
    years of documents it names ("Luật Bầu cử năm 2015")."""
    years: set[int] = set()
    for p in detect_periods(text, today):
        if p.start is not None and p.end is not None:
            years.update(range(p.start.year, p.end.year + 1))
        else:
            years.update(d.year for d in (p.start, p.end) if d is not None)
    return years


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


def as_of_period(as_of: date, today: date) -> Period:
    """The period of a question that names none: the request's ``as_of`` (default today)."""
    label = "hiện nay" if as_of == today else f"ngày {vn_date(as_of)}"
    return Period(as_of, as_of, label, "as_of")


def resolve_period(text: str, as_of: date | None, today: date) -> Period:
    """The question's own period if it names one, else :func:`as_of_period`."""
    return detect_period(text, today) or as_of_period(as_of or today, today)
