"""The question as one typed object, built once: what was typed, what is searched, what was asked.

A ``Turn`` holds only what was read from the question and its conversation (the text in its
forms, the follow-up focus, intent, entities, the period it names and the day it is asked for);
what the pipeline adds on the way (hits, decision, answer, timings) travels in
:class:`assistant.answering.trace.Trace`. Analysis is deterministic and rule-based so that each rule
can be unit-tested without a model (:mod:`.intent`, :mod:`.entities`, :mod:`.followup`, :mod:`.period`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from assistant.answering.entities import Entities, detect_entities
from assistant.answering.followup import FOLLOWUP_FILLER, resolve_followup
from assistant.answering.intent import detect_intent, is_injection
from assistant.answering.period import Period, detect_period
from assistant.answering.safety import strip_override
from assistant.text import collapse_ws, fold, mask_counts, nfc, tokenize_folded


@dataclass(frozen=True)
class Turn:
    """One user message as read: nothing here is added by retrieval or composition.

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
    period: Period | None = None  # the time the question names, else None (then ``as_of`` applies)

    @property
    def asked_date(self) -> date:
        """The date whose rules the answer must give: the question's own period, else ``as_of``."""
        p = self.period
        if p is not None:
            return p.reference(self.as_of)
        return self.as_of

    @property
    def window(self) -> tuple[date | None, date | None]:
        """The span the answer speaks for: the question's own period (see ``Period.window``), else the
        one day ``as_of``. Every passage the answer cites must apply in it (``validity.valid_on``)."""
        p = self.period
        if p is not None:
            return p.window(self.as_of)
        return self.as_of, self.as_of

    def to_json(self) -> dict[str, Any]:
        return {"standalone": self.standalone, "intent": self.intent, "entities": self.entities.to_json()}


def build_turn(question: str, history: Sequence[dict[str, str]] | None = None, *, as_of: date | None = None,
               today: date | None = None) -> Turn:
    """Normalise once, strip instruction overrides, resolve the conversation, analyse intent, entities and
    period. ``as_of`` is the day the answer speaks for (default today); ``today`` the real date."""
    raw = question
    cleaned = collapse_ws(nfc(question))
    cleaned, steered = strip_override(cleaned)
    hist = tuple((str(h.get("role", "")), collapse_ws(nfc(str(h.get("content", ""))))) for h in (history or []))
    standalone, focus = resolve_followup(cleaned, hist)
    folded = fold(standalone)
    intent = detect_intent(fold(cleaned))
    own_words = [t for t in tokenize_folded(cleaned) if len(t) > 1 and t not in FOLLOWUP_FILLER]
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
    period = detect_period(mask_counts(cleaned), today)  # "thôn dưới 2000 dân" names no year
    if period is None and focus is not None:
        period = detect_period(mask_counts(standalone), today)
    return Turn(raw=raw, cleaned=cleaned, standalone=standalone, folded=folded, history=hist, focus=focus,
                steered=steered, injection=is_injection(cleaned), intent=intent, entities=entities, as_of=today,
                today=real_today, period=period)


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
