"""Every fixed text the assistant says in its own voice: refusals, greetings, notes, the LLM prompt.

One place, so that wording is reviewed together and no module writes a reply of its own. Quotes
from the sources are never here: they are copied from passages by the writers.
"""

from __future__ import annotations

from collections.abc import Sequence

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

# a message asking two things, one of them a figure the sources do not give: the other is answered, then this
NO_FIGURE_PART = "Về con số cụ thể bạn hỏi: các nguồn hiện có không nêu con số này."

LLM_FALLBACK_NOTE = "(Câu trả lời của mô hình ngôn ngữ không qua được bước kiểm tra trích dẫn, nên dưới đây là các câu trích nguyên văn từ nguồn.)"

STATUS_NOTES = {
    "het-hieu-luc": "đã hết hiệu lực; nội dung chỉ để tham khảo quy định cũ",
    "da-sua-doi": "đã được sửa đổi hoặc thay thế một phần; cần đối chiếu văn bản hiện hành",
    "thi-diem": "là quy định thí điểm, chỉ áp dụng trong phạm vi và thời gian thí điểm",
    "tham-khao": "là tài liệu tham khảo, không phải văn bản quy phạm pháp luật",
}

INJECTION_REFUSAL = (
    "Tôi không thể bịa ra, giả định hay đóng vai để trả lời. Tôi chỉ trả lời dựa trên nội dung các văn bản "
    "trong kho nguồn, và mỗi ý đều kèm trích dẫn. Bạn có thể hỏi, ví dụ: \"Thành viên Ban bầu cử có được kiêm "
    "nhiệm không?\""
)

# In-field questions the assistant answers (tests/integration/test_domain_gate.py checks each is answered): the
# out-of-domain refusal offers the two closest to what was asked.
EXAMPLE_QUESTIONS = (
    "Thành viên Ban bầu cử có được kiêm nhiệm không?",
    "Bí thư cấp ủy có được kiêm chủ tịch Ủy ban nhân dân không?",
    "Cán bộ, công chức cấp xã kiêm nhiệm chức danh khác được hưởng phụ cấp bao nhiêu?",
    "Bí thư chi bộ kiêm trưởng thôn được hưởng phụ cấp thế nào?",
    "Ban bầu cử cấp xã có bao nhiêu thành viên?",
    "Nhất thể hóa chức danh là gì?",
)


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


def refusal_for_other_body(asked: str, others: Sequence[str]) -> str:
    """The quotes found speak of other election bodies only: say so instead of answering with them."""
    named = ", ".join(others)
    return (f"Các nguồn hiện có không có quy định về {asked} cho điều bạn hỏi (những quy định tìm được nói về "
            f"{named}), nên tôi không trả lời được câu hỏi này. " + REFUSAL.split(". ", 1)[1])


def llm_error_note(error: str) -> str:
    """Heads the extractive answer when the language model could not be reached."""
    return f"(Không gọi được mô hình ngôn ngữ: {error}; dưới đây là các câu trích nguyên văn từ nguồn.)"


def unverified_reply(quote: str, label: str) -> str:
    """The best evidence is a note saying it does not know exactly this: say so, quote it, answer nothing."""
    return (f"Các nguồn hiện có chưa xác minh được điều bạn hỏi, nên tôi không trả lời dứt khoát. "
            f"Nguồn ghi: «{quote}» ({label}).")


def unanswered_pair_line(a: str, b: str) -> str:
    """Opens an answer to "may A hold B?" when no source speaks of that pair: no yes or no, then the nearest rules."""
    return (f"Các nguồn hiện có không nói trực tiếp việc một người vừa là {a} vừa là {b}, nên tôi không "
            f"trả lời được hay không. Những quy định gần nhất trong nguồn (về trường hợp khác):")


STATUS_NOTE_HEAD = "Lưu ý: nguồn"


def status_note(n: int, document: str, status: str) -> str:
    """The note under an answer citing a document that is not plainly in force (``status`` in STATUS_NOTES)."""
    return f"{STATUS_NOTE_HEAD} [{n}] ({document}) {STATUS_NOTES[status]}."


def nearest_offer(labels: Sequence[str]) -> str:
    """The nearest thing the sources hold, offered with a refusal (never as the answer)."""
    return "Gần nhất với câu hỏi, các nguồn có: " + "; ".join(f"«{lb}»" for lb in labels) + "."


def general_rule_note(places: Sequence[str], documents: Sequence[str]) -> str:
    """The line under an answer's opening given by the general rule: the places and documents the question's
    story names that the sources have nothing specific on."""
    parts = []
    if places:
        parts.append("quy định riêng của " + ", ".join(places))
    if documents:
        parts.append(", ".join(f"«{d}»" for d in documents))
    return f"(Nguồn không có {' và '.join(parts)}; câu trả lời theo quy định chung.)"


def partial_note(missing: Sequence[str]) -> str:
    """Closes a partial answer: which asked things the sources lack, left unanswered."""
    named = ", ".join(f"«{m}»" for m in missing)
    return f"Phần câu hỏi về {named} tôi không trả lời được: các nguồn hiện có không có thông tin về điều đó."


def premise_corrected(named: str, opening: str, body: str) -> str:
    """A figure the question states that the sources contradict, corrected by what the source says."""
    return f"{opening}Các nguồn không nêu {named}; nguồn ghi: {body}"


# --- the LLM writer's prompt ------------------------------------------------------------------------

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

INTENT_HINTS = {
    "yesno": "Câu hỏi có/không: câu đầu nói rõ được hay không được, có hay không, kèm số nguồn.",
    "amount": "Câu hỏi về con số: câu đầu nêu đúng con số của cấp, tổ chức được hỏi, kèm số nguồn.",
    "authority": "Câu hỏi ai quyết định: câu đầu nêu cơ quan, người có thẩm quyền, kèm số nguồn.",
    "source": "Câu hỏi văn bản nào quy định: câu đầu nêu điều, khoản và số hiệu văn bản, kèm số nguồn.",
    "validity": "Câu hỏi về hiệu lực: câu đầu nói văn bản còn hay hết hiệu lực và văn bản nào thay thế, nếu nguồn nêu.",
    "change": "Câu hỏi về thay đổi: nêu quy định trước và sau, ghi rõ mốc thời gian của từng quy định.",
}


# --- the time line (assistant/answering/timeline.py) ----------------------------------------------

LATER_LABEL = "Sau ngày"  # the one line that may name what came after the asked day ("Sau ngày 23/05/2021: …")


def not_issued_yet(when: str, document: str, issued: str) -> str:
    """Asked about a document for a time before it existed (``when``: "Tại ngày 23/05/2021")."""
    return f"{when}, {document} chưa được ban hành (ban hành ngày {issued})."


def nothing_then(when: str, day: str, since: str, label: str) -> str:
    """Nothing of the asked time answers; the nearest later text is named (never quoted)."""
    return (f"{when}, các nguồn chưa có quy định hay thông tin về điều bạn hỏi. "
            f"{LATER_LABEL} {day}{since}: nguồn gần nhất là {label}.")


def choose_a_later_day(day: str) -> str:
    return f"Muốn xem nội dung đó, hãy chọn ngày áp dụng từ {day} trở đi."


def since_issued(document: str, day: str) -> str:
    return f" ({document} ban hành {day})"


def since_applies(day: str) -> str:
    return f" (áp dụng từ {day})"


def replaced_since(day: str, until: str, since: str, label: str) -> str:
    """The quoted rule was replaced after the asked day: when, and by which provision (not quoted)."""
    return f"{LATER_LABEL} {day}: quy định trên áp dụng đến {until}; từ {since} áp dụng quy định mới ({label})."


def ended_since(day: str, until: str, changed: str) -> str:
    """The quoted rule stopped applying after the asked day."""
    return f"{LATER_LABEL} {day}: quy định trên chỉ áp dụng đến {until}; từ {changed} đã thay đổi."


def period_used(label: str, chosen: str) -> str:
    """The question named its own period while another day was chosen: say which the answer used."""
    return f"Câu hỏi nêu thời điểm ({label}), nên câu trả lời theo thời điểm đó, không theo ngày đã chọn {chosen}."


def refusal_future_period(label: str, today: str) -> str:
    return f"Các nguồn chỉ có những gì đã ban hành đến ngày {today}, nên tôi không trả lời được cho {label}."


def refusal_undated_for_period(label: str) -> str:
    return (f"Nguồn gần nhất với câu hỏi không ghi nó thuộc thời điểm nào, nên tôi không trả lời được cho {label}. "
            "Bạn có thể hỏi lại không kèm thời điểm để xem các nguồn hiện có.")
