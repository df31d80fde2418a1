"""Answerers and their guards.

The extractive answerer (default) only ever writes sentences copied from the passages, each
followed by its marker, so it cannot invent a number or a citation. The LLM answerer writes
freely but every sentence is checked against the passage it cites; what fails is dropped, and
if nothing survives (or the endpoint fails) the extractive answer is returned with a note.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from assistant import compose, contract
from assistant.config import Settings
from assistant.models import KIND_LABELS, STATUS_LABELS, Passage
from assistant.period import period_fields
from assistant.retrieval import STOPWORDS_FOLDED, ScoredPassage
from assistant.safety import unsafe_generated
from assistant.screening import clean_text, is_planted
from assistant.text import collapse_ws, fold, sentences, tokenize_folded
from assistant.turn import Turn, sub_turns

log = logging.getLogger(__name__)

REFUSAL = (
    "Xin lỗi, các nguồn hiện có không trả lời được câu hỏi này, nên tôi không đưa ra câu trả lời. "
    "Tôi chỉ trả lời dựa trên các văn bản về kiêm nhiệm và nhất thể hóa chức danh (ví dụ: bí thư cấp ủy "
    "kiêm chủ tịch Ủy ban nhân dân, bí thư chi bộ kiêm trưởng thôn, tổ dân phố, phụ cấp kiêm nhiệm) và về "
    "thành phần các tổ chức phụ trách bầu cử (Ủy ban bầu cử, Ban bầu cử, Tổ bầu cử). "
    "Bạn có thể hỏi lại cụ thể hơn: nêu rõ chức danh, cấp (tỉnh, xã, thôn) hoặc văn bản mà bạn quan tâm."
)
GREETING = (
    "Xin chào! Tôi là Trợ lý Kiêm nhiệm. Tôi trả lời câu hỏi về kiêm nhiệm, nhất thể hóa chức danh, phụ cấp "
    "kiêm nhiệm và thành viên các tổ chức phụ trách bầu cử, chỉ dựa trên các văn bản trong kho nguồn và luôn "
    "kèm trích dẫn. Ví dụ: \"Thành viên Ban bầu cử có được kiêm nhiệm không?\""
)
THANKS = "Rất vui được giúp bạn. Nếu còn câu hỏi về kiêm nhiệm hay tổ chức bầu cử, bạn cứ hỏi tiếp."
NO_FIGURE = (
    "Các nguồn hiện có không nêu con số bạn hỏi, nên tôi không trả lời được câu hỏi này. "
    + REFUSAL.split(". ", 1)[1]
)
LLM_FALLBACK_NOTE = "(Câu trả lời của mô hình ngôn ngữ không qua được bước kiểm tra trích dẫn, nên dưới đây là các câu trích nguyên văn từ nguồn.)"

STATUS_NOTES = {
    "het-hieu-luc": "đã hết hiệu lực; nội dung chỉ để tham khảo quy định cũ",
    "da-sua-doi": "đã được sửa đổi hoặc thay thế một phần; cần đối chiếu văn bản hiện hành",
    "thi-diem": "là quy định thí điểm, chỉ áp dụng trong phạm vi và thời gian thí điểm",
    "tham-khao": "là tài liệu tham khảo, không phải văn bản quy phạm pháp luật",
}

_GREETING_RE = re.compile(
    r"^(xin chao|chao( ban| em| anh| chi| tro ly)?|hello|hi|alo|hey|good (morning|afternoon|evening)|"
    r"ban (la ai|lam duoc gi)|tro ly (la ai|lam duoc gi))[\s!.?,]*(ban|tro ly|nhe|a)?[\s!.?]*$"
)
_THANKS_RE = re.compile(r"^(cam on|thank(s| you)|ok cam on|cam on ban|tot qua|ok|tam biet|bye|hen gap lai)[\s!.?,a-z]*$")
_CHITCHAT_RE = re.compile(
    r"^(ban (khoe|co khoe|the nao|ten (la )?gi|bao nhieu tuoi|o dau)|hom nay (the nao|ra sao)|ban co (vui|met)|"
    r"how are you|what can you do|ban giup (duoc )?gi|ban biet gi)[\s!.?,a-z]*$"
)
_NUMBER_RE = re.compile(r"\d+(?:[.,/]\d+)*")
_MARKER_RE = re.compile(r"\[(\d+)\]")


def refusal_out_of_domain(suggestions: Sequence[str]) -> str:
    """The refusal for a question about another field of law: what is covered, and what to ask instead."""
    text = ("Câu hỏi này nằm ngoài phạm vi các nguồn của tôi, nên tôi không trả lời được: một câu trích từ các "
            "nguồn này sẽ không liên quan đến điều bạn hỏi. Tôi chỉ trả lời về kiêm nhiệm và nhất thể hóa chức "
            "danh (ví dụ: bí thư cấp ủy kiêm chủ tịch Ủy ban nhân dân, bí thư chi bộ kiêm trưởng thôn, tổ dân phố), phụ cấp kiêm nhiệm, và thành "
            "phần các tổ chức phụ trách bầu cử (Ủy ban bầu cử, Ban bầu cử, Tổ bầu cử). Với lĩnh vực pháp luật khác, "
            "bạn nên tra cứu văn bản của lĩnh vực đó hoặc hỏi cơ quan có thẩm quyền.")
    if suggestions:
        text += "\nBạn có thể hỏi, ví dụ:\n" + "\n".join(f"- {q}" for q in suggestions)
    return text


def refusal_for_missing(names: Sequence[str], suggestion: str = "") -> str:
    """Say which named thing the sources lack; the nearest thing they hold is offered, not answered."""
    quoted = ", ".join(f"«{n}»" for n in names)
    text = f"Các nguồn hiện có không có thông tin về {quoted}, nên tôi không trả lời được câu hỏi này."
    if suggestion:
        text += " " + suggestion
    return text + " " + REFUSAL.split(". ", 1)[1]


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


@dataclass
class Citation:
    n: int
    hit: ScoredPassage
    quote: str

    def to_json(self, as_of: date | None = None) -> dict[str, Any]:
        """The contract's citation (``assistant.contract.Citation``, its one field list): the fields it
        shares with the passage by name, plus what this citation adds."""
        p = self.hit.passage
        own = {"n": self.n, "quote": self.quote, "score": round(float(self.hit.score), 4), "passage_id": p.id,
               **period_fields(p, as_of),  # valid_from, valid_to, period_label (seen from as_of, default today)
               **display_fields(p, self.quote)}
        shared = {name: getattr(p, name) for name in contract.Citation.model_fields if name not in own}
        return contract.Citation.model_validate({**shared, **own}).model_dump()


def status_label(status: str) -> str:
    """The status as a badge reads it: "Còn hiệu lực"."""
    label = STATUS_LABELS.get(status, status)
    return label[:1].upper() + label[1:]


def display_fields(p: Passage, quote: str) -> dict[str, Any]:
    """What the web chat shows without copying tables: labels, the text form and where the quote sits."""
    start = p.text.find(quote) if quote else -1
    return {"text_form": p.text_form, "status_label": status_label(p.status),
            "kind_label": KIND_LABELS.get(p.kind, ""), "quote_start": start if start >= 0 else None,
            "quote_end": start + len(quote) if start >= 0 else None}


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    note: str = ""
    # who wrote the text: extractive | llm | llm-fallback (failed verification) | llm-error | refusal |
    # out-of-domain | small-talk
    answered_by: str = "extractive"
    suggestions: list[str] = field(default_factory=list)  # in-field questions to offer instead (out-of-domain)
    # the model's raw reply and the sentences verification removed (why: sentence), for evals and logs
    draft: str = ""
    dropped: list[str] = field(default_factory=list)


def status_lines(citations: Sequence[Citation]) -> list[str]:
    """One line per cited document whose status is not plainly in force."""
    lines, seen = [], set()
    for c in citations:
        p = c.hit.passage
        if p.status in STATUS_NOTES and p.doc_id not in seen:
            seen.add(p.doc_id)
            lines.append(f"Lưu ý: nguồn [{c.n}] ({document_name(p)}) {STATUS_NOTES[p.status]}.")
    return lines


def document_name(p: Passage) -> str:
    """The short citation name of a passage's document (its label without the provision)."""
    return compose.document_label(p)


class ExtractiveAnswerer:
    """Quote the sentences that answer best, composed by intent and period (``assistant.compose``).

    Deterministic, so the same question gives the same answer; every sentence shown is a verbatim
    quote followed by its marker, except a verdict word or period label that a tested rule derives
    from the quoted sentence or from the source's metadata.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def plan(self, turn: Turn, hits: Sequence[ScoredPassage], docs: Mapping[str, Mapping[str, Any]] | None = None
             ) -> compose.Plan:
        cands = compose.candidates(turn, hits, docs)
        return compose.plan_answer(turn, cands, self.settings.max_answer_sentences)

    def answer(self, turn: Turn, hits: Sequence[ScoredPassage],
               docs: Mapping[str, Mapping[str, Any]] | None = None) -> Answer:
        docs = docs or {}
        if turn.intent == "change":
            changed = self._change(turn, hits, docs)
            if changed is not None:
                return changed
        plan = self.plan(turn, hits, docs)
        lead = plan.lead
        if plan.no_figure:
            return Answer(NO_FIGURE, [], refused=True, answered_by="refusal")
        if lead is None:
            return Answer(REFUSAL, [], refused=True, answered_by="refusal")
        if plan.unverified_lead and not (turn.intent == "validity" and compose.validity_line(turn, hits, docs)):
            text = (f"Các nguồn hiện có chưa xác minh được điều bạn hỏi, nên tôi không trả lời dứt khoát. "
                    f"Nguồn ghi: «{compose.display(lead.text)}» ({lead.passage.label}).")
            return Answer(text, [], refused=True, answered_by="refusal")
        pair = None if plan.gone else compose.unanswered_pair(turn, plan.considered)
        asked: Turn | None = turn  # the question the lead answers: the first part of a message asking several
        if turn.intent not in ("validity", "source", "change") and not plan.gone:
            parts = self._each_part(turn, hits, docs, plan)
            if parts is not None:
                lead, asked = parts
        citations: list[Citation] = []
        by_span: dict[tuple[str, int, int], Citation] = {}

        def cite(c: compose.Candidate) -> int:
            key = (c.passage.id, c.start, c.end)
            if key not in by_span:
                by_span[key] = Citation(len(citations) + 1, c.hit, c.quote)
                citations.append(by_span[key])
            return by_span[key].n

        def markers(c: compose.Candidate) -> str:
            ns = [cite(c)] + [cite(t) for t in plan.merged.get(id(c), [])]
            return "".join(f"[{n}]" for n in dict.fromkeys(ns))

        lines: list[str] = []
        covered_docs: set[str] = set()
        if turn.intent == "validity":
            found = compose.validity_line(turn, hits, docs)
            if found is not None:
                doc_id, sentence = found
                every = compose.candidates(turn, hits, docs)
                own = [c for c in every if c.passage.doc_id == doc_id and not c.meta and not c.unverified]
                number = next((h.passage.number for h in hits if h.passage.doc_id == doc_id), "")
                caveat = compose.validity_caveat(number, every) if "còn hiệu lực" in sentence else None
                if caveat is not None:
                    # the metadata says in force, a source doubts it: say both, the doubt quoted
                    lines.append(f"{sentence.rstrip('.')}; tuy nhiên, nguồn ghi: {compose.display(caveat.text)} "
                                 f"{markers(caveat)}")
                    plan.support = [c for c in plan.support if not compose._overlaps(c, [caveat])]
                    lead = None  # the caveat is already the quoted line
                elif own:
                    lead = own[0]
                    plan.support = [c for c in plan.support if not compose._overlaps(c, [lead])]
                    lines.append(f"{sentence} {markers(lead)}")
                else:
                    lines.append(sentence)
                covered_docs.add(doc_id)
        if lead is None:
            text = "\n".join(lines + [f"{compose.display(c.text)} {markers(c)}" for c in plan.support])
            return Answer(text, citations)
        named = False  # the first line already names the provision and its period
        provision = compose.governing_provision(turn, [lead, *plan.merged.get(id(lead), [])]) \
            if turn.intent == "source" else None
        if provision is not None:
            # "theo nghị định nào?": the provision, named from the passage's metadata, then its words
            head = compose.period_prefix(turn, provision, docs, True)
            lines.append(f"{head}Quy định áp dụng: {compose.provision_name(provision.passage, turn.asked_date)}. "
                         f"[{cite(provision)}]")
            named = True
        if pair is not None:
            a, b = (compose.POST_NAMES.get(x, x) for x in pair)
            lines.append(f"Các nguồn hiện có không nói trực tiếp việc một người vừa là {a} vừa là {b}, nên tôi không "
                         f"trả lời được hay không. Những quy định gần nhất trong nguồn (về trường hợp khác):")
            asked = None
        prefix = "Không." if plan.gone and turn.intent == "yesno" else (
            compose.verdict_word(asked, lead.text) if asked is not None else None) or ""
        contested = any(not c.in_period and c.hit.passage.doc_id == lead.passage.doc_id for c in plan.considered)
        period = compose.period_prefix(turn, lead, docs, contested) if not covered_docs and not named else ""
        head = " ".join(x for x in (prefix, period) if x)
        lines.append(f"{head + ' ' if head and not head.endswith(' ') else head}{compose.display(lead.text)} {markers(lead)}")
        for c in plan.support:
            label = compose.period_prefix(turn, c, docs) if not c.in_period else ""
            lines.append(f"{label}{compose.display(c.text)} {markers(c)}")
        text = "\n".join(lines)
        notes = [n for n in status_lines(citations) if not any(f"({document_name(c.hit.passage)})" in n
                                                              and c.hit.passage.doc_id in covered_docs
                                                              for c in citations)]
        if notes:
            text += "\n\n" + "\n".join(notes)
        return Answer(text, citations)

    def _each_part(self, turn: Turn, hits: Sequence[ScoredPassage], docs: Mapping[str, Mapping[str, Any]],
                   plan: compose.Plan, reach: float = 0.4) -> tuple[compose.Candidate, Turn] | None:
        """A message asking two questions gets each one's best sentence, in the order asked, then the
        plan's other sentences; returns the new lead and the part it answers (for its verdict word).

        A part's sentence shares a word pair only that part names ("phụ cấp", "bảo hiểm", "thành
        lập"); the first part's sentence names none of the later parts' (they add a condition to it:
        "ở đơn vị vũ trang … 5 đến 9" answers the second part, "11 đến 21" the first). None, and the
        plan untouched, unless each part finds a whole sentence within ``reach`` of the plan's lead and
        the plan's lead is one of them: the message read whole is then the better answer.
        """
        assert plan.lead is not None
        subs = sub_turns(turn)
        pairs = [_word_pairs(s.folded) for s in subs]
        own = [w - set().union(*(x for j, x in enumerate(pairs) if j != i)) for i, w in enumerate(pairs)]
        if not subs or any(not o for o in own[1:]):
            return None
        firsts: list[compose.Candidate] = []
        for i, sub in enumerate(subs):
            def fits(c: compose.Candidate, i: int = i) -> bool:
                shared = [len(o & _word_pairs(c.folded)) for o in own]
                return not any(shared[1:]) if i == 0 else shared[i] >= 1

            c = compose.plan_answer(sub, [c for c in compose.candidates(sub, hits, docs) if fits(c)], 1).lead
            if (c is None or c.unverified or c.in_period != plan.lead.in_period or compose._overlaps(c, firsts)
                    or c.score < plan.lead.score - reach or not c.text.lstrip("-•*0123456789. ")[:1].isupper()):
                return None
            firsts.append(c)
        if not compose._overlaps(plan.lead, firsts):
            return None
        if compose.verdict_word(turn, plan.lead.text) not in (None, compose.verdict_word(subs[0], firsts[0].text)):
            return None  # never a different yes or no than the message read whole
        rest = [c for c in [plan.lead, *plan.support] if not compose._overlaps(c, firsts)]
        plan.support = [*firsts[1:], *rest][: max(self.settings.max_answer_sentences - 1, len(firsts) - 1)]
        return firsts[0], subs[0]

    def _change(self, turn: Turn, hits: Sequence[ScoredPassage], docs: Mapping[str, Mapping[str, Any]]) -> Answer | None:
        """"What changed": the best sentence from before the change and the best from after, each labelled."""
        cands = [c for c in compose.candidates(turn.with_(period=None), hits, docs, max_hits=5, window=0.2)
                 if not c.meta and not c.unverified]
        def period(c: compose.Candidate) -> tuple[Any, Any]:
            return compose.passage_period(c.passage, docs.get(c.passage.doc_id))

        old = [c for c in cands if period(c)[1] is not None and period(c)[1] < turn.as_of]
        if not old:
            return None
        before = old[0]
        cut = period(before)[1]
        # after: a rule that starts once the old one ended (not merely a text in force since long before)
        new = [c for c in cands if c.in_period and period(c)[0] is not None and period(c)[0] > cut]
        if not new:
            return None
        after = new[0]
        citations = [Citation(1, before.hit, before.text), Citation(2, after.hit, after.text)]
        b_phrase = compose.period_phrase(before.passage, docs.get(before.passage.doc_id))
        a_start = compose.passage_period(after.passage, docs.get(after.passage.doc_id))[0]
        a_phrase = f"Từ {compose.fmt_date(a_start)}" if a_start else "Hiện nay"
        lines = [f"{a_phrase}: {compose.display(after.text)} [2]",
                 f"Trước đó ({b_phrase}): {compose.display(before.text)} [1]"]
        notes = status_lines(citations)
        text = "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")
        return Answer(text, citations)


# --- LLM answerer ---------------------------------------------------------------------------------

SYSTEM_PROMPT = (
    "Bạn là trợ lý pháp lý trả lời bằng tiếng Việt về quy định kiêm nhiệm và tổ chức bầu cử. "
    "Chỉ dùng thông tin trong các NGUỒN được đánh số bên dưới; không dùng kiến thức bên ngoài.\n"
    "Quy tắc:\n"
    "1. Trả lời ngắn gọn, tối đa 4 câu; câu đầu trả lời thẳng câu hỏi.\n"
    "2. Mỗi câu PHẢI kết thúc bằng số nguồn trong ngoặc vuông, ví dụ [1] hoặc [2].\n"
    "3. Chép đúng con số, tên văn bản, số điều từ nguồn; không suy diễn, không bịa số liệu.\n"
    "4. Nếu các nguồn không trả lời được câu hỏi, chỉ viết: KHÔNG ĐỦ NGUỒN."
)
# small models follow the last instruction they read: the citation rule is repeated after the sources
PROMPT_REMINDER = "(Nhớ: mỗi câu kết thúc bằng số nguồn trong ngoặc vuông, ví dụ [1]. Không đủ nguồn thì viết KHÔNG ĐỦ NGUỒN.)"
# share of a generated sentence's informative words that must occur in the passages it cites
MIN_SUPPORT = 0.6
# a sentence the model left without a marker is attributed to one passage only when nearly all of
# its words are there (small models often forget the markers of sentences they copied)
ATTRIBUTE_SUPPORT = 0.85
# negations flip a legal answer ("không được"): a sentence must carry as many as the sentence it quotes
_NEGATION_RE = re.compile(r"\b(không|chưa|chẳng|cấm|chớ)\b", re.IGNORECASE)
# relations with a direction between documents or figures: "208 thay thế 185" is not "185 thay thế 208"
_DIRECTED_RE = re.compile(r"\b(thay thế|sửa đổi|bổ sung|bãi bỏ|hướng dẫn|quy định chi tiết|hợp nhất|sáp nhập|"
                          r"nhập vào|tăng|giảm|từ .{1,40} đến)\b", re.IGNORECASE)


_INTENT_HINTS = {
    "yesno": "Câu hỏi có/không: câu đầu nói rõ được hay không được, có hay không, kèm số nguồn.",
    "amount": "Câu hỏi về con số: câu đầu nêu đúng con số của cấp, tổ chức được hỏi, kèm số nguồn.",
    "authority": "Câu hỏi ai quyết định: câu đầu nêu cơ quan, người có thẩm quyền, kèm số nguồn.",
    "source": "Câu hỏi văn bản nào quy định: câu đầu nêu điều, khoản và số hiệu văn bản, kèm số nguồn.",
    "validity": "Câu hỏi về hiệu lực: câu đầu nói văn bản còn hay hết hiệu lực và văn bản nào thay thế, nếu nguồn nêu.",
    "change": "Câu hỏi về thay đổi: nêu quy định trước và sau, ghi rõ mốc thời gian của từng quy định.",
}


def _word_pairs(folded: str) -> set[str]:
    """Adjacent syllable pairs without a stop word: most Vietnamese words are two syllables, and
    "phụ cấp" must not match "cấp xã"."""
    toks = tokenize_folded(folded)
    return {f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)
            if a not in STOPWORDS_FOLDED and b not in STOPWORDS_FOLDED}


def turn_hint(turn: Turn | None) -> str:
    """What the analysis found, for the model: the intent, the named things, the date asked."""
    if turn is None:
        return ""
    parts = []
    if turn.intent in _INTENT_HINTS:
        parts.append(_INTENT_HINTS[turn.intent])
    named = turn.entities.to_json()
    if named:
        parts.append("Câu hỏi nêu: " + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in named.items()) + ".")
    label = getattr(turn.period, "label", "") if turn.period is not None else ""
    parts.append(f"Trả lời theo quy định áp dụng {label or 'tại ngày ' + turn.asked_date.strftime('%d/%m/%Y')}; "
                 "không trộn số liệu của thời kỳ khác mà không ghi rõ thời kỳ.")
    return "\n".join(parts)


def build_prompt(question: str, hits: Sequence[ScoredPassage], turn: Turn | None = None) -> str:
    parts = []
    for i, h in enumerate(hits, start=1):
        parts.append(f"[{i}] {h.passage.label} (tình trạng: {STATUS_LABELS.get(h.passage.status, h.passage.status)})\n"
                     f"{h.passage.text}")
    hint = turn_hint(turn)
    hint = f"\n{hint}" if hint else ""
    return "NGUỒN:\n\n" + "\n\n".join(parts) + f"\n\nCÂU HỎI: {question}{hint}\n\n{PROMPT_REMINDER}\nTRẢ LỜI:"


def _numbers(text: str) -> set[str]:
    return {n.rstrip(".,") for n in _NUMBER_RE.findall(text)}


def _informative(text: str) -> list[str]:
    return [t for t in tokenize_folded(text) if t not in STOPWORDS_FOLDED]


def verify_llm_sentence(sentence: str, hits: Sequence[ScoredPassage], question: str = "") -> tuple[bool, list[int], str]:
    """Check one generated sentence before it may reach a user.

    Its markers must name retrieved passages, its numbers must occur in the cited text, most of its
    words must come from the cited text (a marker alone proves nothing), and it must answer rather
    than ask or echo the question.
    """
    markers = [int(m) for m in _MARKER_RE.findall(sentence)]
    if not markers:
        return False, [], "no citation marker"
    if any(m < 1 or m > len(hits) for m in markers):
        return False, markers, "marker names no retrieved passage"
    body = _MARKER_RE.sub("", sentence).strip()
    if body.rstrip(" .").endswith("?"):
        return False, markers, "a question, not an answer"
    if "tình trạng:" in body:
        return False, markers, "copies the list of sources"
    words = _informative(body)
    if not words:
        return False, markers, "no content"
    if question and set(words) == set(_informative(question)):
        return False, markers, "repeats the question"
    # a sentence planted in the source is no support for anything (assistant/screening.py)
    cited_text = " ".join(clean_text(hits[m - 1].passage.text) for m in markers)
    unsafe = unsafe_generated(body, [cited_text], [hits[m - 1].passage.source_urls for m in markers])
    if unsafe:
        return False, markers, unsafe
    missing = [n for n in _numbers(body) if n not in _numbers(cited_text) and n not in cited_text]
    if missing:
        return False, markers, f"numbers not in the cited passage: {missing}"
    if sum(1 for w in words if not w[0].isdigit()) < 2:
        return False, markers, "a fragment, not a sentence"
    support = _support(words, cited_text)
    if support < MIN_SUPPORT:
        return False, markers, f"only {support:.0%} of its words are in the cited passage"
    if _DIRECTED_RE.search(body) and not _same_order(body, cited_text):
        return False, markers, "its numbers are in another order than in the cited passage"
    return True, markers, ""


def _same_order(body: str, cited_text: str) -> bool:
    """The numbers of a sentence stating a directed relation occur in the cited text in the same order.

    Each number is looked for after the previous one (a subsequence, so "cấp xã từ 7 đến 9" is found
    in "…cấp huyện từ 9 đến 11, cấp xã từ 7 đến 9"); numbers absent from the text are skipped.
    """
    seen: list[str] = []
    for n in _NUMBER_RE.findall(body):
        n = n.rstrip(".,")
        if n not in seen:
            seen.append(n)
    pos = 0
    for n in seen:
        pattern = re.compile(rf"(?<![\d.,/]){re.escape(n)}(?![\d]|[.,/]\d)")
        if not pattern.search(cited_text):
            continue
        m = pattern.search(cited_text, pos)
        if m is None:
            return False
        pos = m.end()
    return True


def _support(words: Sequence[str], text: str) -> float:
    have = set(tokenize_folded(text))
    return sum(1 for w in words if w in have) / len(words) if words else 0.0


def attribute(sentence: str, hits: Sequence[ScoredPassage]) -> int | None:
    """The 1-based passage a marker-less sentence was copied from, when one holds nearly all its words."""
    words = _informative(sentence)
    if len(words) < 3:
        return None
    scored = [(_support(words, clean_text(h.passage.text)), i) for i, h in enumerate(hits, start=1)]
    best, i = max(scored, default=(0.0, 0))
    return i if best >= ATTRIBUTE_SUPPORT else None


def negation_mismatch(body: str, quote: str) -> bool:
    return len(_NEGATION_RE.findall(body)) != len(_NEGATION_RE.findall(quote))


def best_quote(sentence: str, hit: ScoredPassage) -> str:
    """The passage sentence a generated sentence rests on (most shared words): a verbatim quote."""
    words = set(tokenize_folded(_MARKER_RE.sub("", sentence)))
    best, best_overlap = "", -1.0
    for sent in sentences(hit.passage.text):
        if is_planted(sent):
            continue  # never cited as the ground of an answer
        sw = set(tokenize_folded(sent))
        overlap = len(words & sw) / (len(sw) ** 0.5 or 1)
        if overlap > best_overlap:
            best, best_overlap = sent, overlap
    return best or hit.passage.text


def split_generated(text: str) -> list[str]:
    """Sentences of a model reply, keeping each sentence's trailing markers with it.

    Models often put the marker after the full stop (``… kiêm nhiệm. [2]``): a piece that is only
    markers belongs to the sentence before it.
    """
    text = text.strip()
    pieces = re.split(r"(?<=[.!?…])((?:\s*\[\d+\])*)\s+", text)
    out, buf = [], ""
    for i, piece in enumerate(pieces):
        buf += piece
        if i % 2 == 1:
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    merged: list[str] = []
    for s in out:
        if merged and re.fullmatch(r"(?:\s*\[\d+\])+[.\s]*", s):
            merged[-1] += " " + s.rstrip(". ")
        elif s:
            merged.append(s)
    return merged


class LLMAnswerer:
    """An OpenAI-compatible chat model, guarded: unverifiable sentences never reach the user."""

    def __init__(self, settings: Settings, extractive: ExtractiveAnswerer) -> None:
        self.settings = settings
        self.extractive = extractive
        self._llm: Any | None = None

    @property
    def llm(self) -> Any:
        if self._llm is None:
            from langchain_openai import ChatOpenAI

            if not self.settings.llm_url:
                raise RuntimeError("KIEMNHIEM_LLM_URL is not set")
            self._llm = ChatOpenAI(base_url=self.settings.llm_url, model=self.settings.llm_model,
                                   api_key=self.settings.llm_api_key, timeout=self.settings.llm_timeout,
                                   max_retries=0, temperature=0.0, max_tokens=400)
        return self._llm

    def _messages(self, turn: Turn, hits: Sequence[ScoredPassage]) -> list[tuple[str, str]]:
        # the model needs the standalone question, with diacritics restored as the search read it
        question = turn.search_query or turn.standalone
        return [("system", SYSTEM_PROMPT), ("human", build_prompt(question, hits, turn))]

    def _fallback(self, turn: Turn, hits: Sequence[ScoredPassage], note: str, answered_by: str,
                  draft: str = "", dropped: Sequence[str] = (),
                  docs: Mapping[str, Mapping[str, Any]] | None = None) -> Answer:
        """The extractive answer, headed by a note saying why the model's own text is not shown."""
        fallback = self.extractive.answer(turn, hits, docs)
        fallback.note = note
        fallback.text = note + "\n" + fallback.text
        fallback.answered_by = answered_by
        fallback.draft, fallback.dropped = draft, list(dropped)
        return fallback

    def _assemble(self, turn: Turn, hits: Sequence[ScoredPassage], generated: str,
                  docs: Mapping[str, Mapping[str, Any]] | None = None) -> Answer:
        if "KHÔNG ĐỦ NGUỒN" in generated.upper() and len(generated) < SHORT_REPLY:
            return Answer(REFUSAL, [], refused=True, answered_by="llm-refusal", draft=generated)
        guard = SentenceGuard(hits, turn.search_query or turn.standalone)
        for sent in split_generated(generated):
            guard.add(sent)
        if not guard.kept:
            return self._fallback(turn, hits, LLM_FALLBACK_NOTE, "llm-fallback", generated, guard.dropped, docs)
        ans = guard.answer()
        notes = status_lines(ans.citations)
        if notes:
            ans.text += "\n\n" + "\n".join(notes)
        ans.draft = generated
        return ans

    def answer(self, turn: Turn, hits: Sequence[ScoredPassage],
               docs: Mapping[str, Mapping[str, Any]] | None = None,
               on_partial: Callable[[Answer], None] | None = None) -> Answer:
        """The guarded answer. With ``on_partial`` the model streams, and each time a finished sentence passes
        the checks the verified answer so far is passed on (its text a prefix of the returned one)."""
        try:
            if on_partial is None:
                generated = str(self.llm.invoke(self._messages(turn, hits)).content)
            else:
                generated = self._stream(turn, hits, on_partial)
        except Exception as exc:  # endpoint down, timeout, bad reply: fall back, never fail the user
            note = f"(Không gọi được mô hình ngôn ngữ: {type(exc).__name__}; dưới đây là các câu trích nguyên văn từ nguồn.)"
            return self._fallback(turn, hits, note, "llm-error", docs=docs)
        # the whole reply is checked again as one: the result is the non-streamed one by construction
        return self._assemble(turn, hits, generated, docs)

    def _stream(self, turn: Turn, hits: Sequence[ScoredPassage], on_partial: Callable[[Answer], None]) -> str:
        """Read the reply as it is generated (``stream: true``); a sentence is checked once text after it shows
        it is finished, and a kept one is released at once. Returns the whole reply."""
        guard = SentenceGuard(hits, turn.search_query or turn.standalone)
        reply, checked = "", 0
        for chunk in self.llm.stream(self._messages(turn, hits)):
            reply += str(chunk.content)
            if len(reply) < SHORT_REPLY:  # a short "KHÔNG ĐỦ NGUỒN" reply is a refusal, whatever came before
                continue
            done = finished_sentences(reply)
            for sent in done[checked:]:
                if guard.add(sent):
                    on_partial(guard.answer())
            checked = max(checked, len(done))
        if len(reply) >= SHORT_REPLY:  # the end of the stream finishes the last sentence
            for sent in split_generated(reply)[checked:]:
                if guard.add(sent):
                    on_partial(guard.answer())
        return reply


# a reply this short that says KHÔNG ĐỦ NGUỒN is the model's refusal
SHORT_REPLY = 40
# a last piece that may still grow into the markers of the sentence before it ("… nhiệm. [2")
_OPEN_TAIL_RE = re.compile(r"[\s\[\]\d.]*")


def finished_sentences(reply: str) -> list[str]:
    """The sentences of a reply still being generated that no later text can change (``split_generated``'s
    pieces but the last, and but the last two when the last may still become the markers of the one before)."""
    pieces = split_generated(reply)
    return pieces[:-2] if pieces and _OPEN_TAIL_RE.fullmatch(pieces[-1]) else pieces[:-1]


class SentenceGuard:
    """The per-sentence checks of a model reply, one sentence at a time (the same for a whole reply and for
    one being streamed): what fails is dropped with its reason, what passes is kept with renumbered markers."""

    def __init__(self, hits: Sequence[ScoredPassage], question: str) -> None:
        self.hits, self.question = hits, question
        self.kept: list[str] = []
        self.citations: list[Citation] = []
        self.dropped: list[str] = []
        self._by_marker: dict[int, int] = {}

    def add(self, sent: str) -> bool:
        """Check one sentence; True when it was kept."""
        hits = self.hits
        if not _MARKER_RE.search(sent) and (src := attribute(sent, hits)) is not None:
            sent = f"{sent} [{src}]"
        ok, markers, why = verify_llm_sentence(sent, hits, self.question)
        body = _MARKER_RE.sub("", sent).strip()
        quotes = {m: best_quote(body, hits[m - 1]) for m in markers} if ok else {}
        if ok and all(negation_mismatch(body, q) for q in quotes.values()):
            ok, why = False, "its negations differ from the sentence it quotes"
        if not ok:
            self.dropped.append(f"{why}: {sent}")
            log.info("LLM sentence dropped (%s): %s", why, sent)
            return False
        body = re.sub(r"(?:\s+\d+\.)+$", "", collapse_ws(body))  # "…, bao gồm:\n\n1." -> one line
        body = re.sub(r"\s+(?=[.,;:!?…]$)", "", body)  # "… thành viên [1]." leaves "thành viên ." without its marker
        new_markers = []
        for m in markers:
            if m not in self._by_marker:
                c = Citation(len(self.citations) + 1, hits[m - 1], quotes[m])
                self.citations.append(c)
                self._by_marker[m] = c.n
            new_markers.append(self._by_marker[m])
        self.kept.append(body + " " + "".join(f"[{n}]" for n in dict.fromkeys(new_markers)))
        return True

    def answer(self) -> Answer:
        """The verified answer so far (without the status notes, which follow the last sentence)."""
        return Answer("\n".join(self.kept), list(self.citations), answered_by="llm", dropped=list(self.dropped))


def answer_pieces(text: str) -> Iterator[str]:
    """Split a finished answer into stream tokens (words with their trailing space) that rejoin exactly."""
    yield from re.findall(r"\S+\s*|\s+", text)
