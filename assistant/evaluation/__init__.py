"""Offline evaluation: the gold set (answers, citations, refusals), retrieval modes side by side,
report files a maintainer reads before shipping, and the ALQAC 2023 retrieval benchmark.

Modules: ``metrics`` (pure functions and the definitions written into every report), ``split``
(the dev / held-out cut every set and report uses), ``gold`` (loading the set, asking every
question, scoring the rows), ``report`` (JSON, Markdown and chart files, comparison with the
previous run, the CI gate listing), ``realsets`` (real citizens' questions and questions on a
user-added law) and ``alqac`` (the third-party benchmark). Everything public is re-exported here, so callers keep importing
``from assistant.evaluation import run_gold_eval, …``.
"""

from __future__ import annotations

from assistant.evaluation.alqac import (
    ALQAC_COLLECTION,
    ALQAC_PREFIX,
    AlqacError,
    AlqacLaws,
    AlqacResult,
    alqac_rank_metrics,
    article_of,
    dedupe_articles,
    evaluate_alqac,
    law_slug,
    load_alqac_laws,
    load_alqac_questions,
    parse_alqac_laws,
    run_alqac,
)
from assistant.evaluation.gold import (
    REPORT_VERSION,
    EvalSetError,
    GoldQuestion,
    evaluate_gold,
    evaluate_modes,
    evaluate_out_of_domain,
    evaluate_question,
    load_questions,
    run_gold_eval,
    summarize,
)
from assistant.evaluation.metrics import (
    MARKER_RE,
    NDCG_K,
    RANK_KS,
    Progress,
    aggregate_ranking,
    citation_precision_recall,
    citation_problems,
    dcg,
    doc_keys,
    first_occurrence_gains,
    first_relevant_rank,
    first_sentence,
    forbidden_hits,
    hit_at_k,
    key_fact_hits,
    lead_hit,
    mean,
    ndcg_at_k,
    normalize_for_match,
    percentile,
    phrase_count,
    polarity,
    ranking_metrics,
    reader_checks,
    reader_metrics,
    reciprocal_rank,
    refusal_metrics,
    section_keys,
)
from assistant.evaluation.realsets import (
    REAL_MIN_QUESTIONS,
    USER_LAW_MIN_PER_LAW,
    RealQuestion,
    UserLawQuestion,
    document_texts,
    fully_right,
    grounding_problems,
    law_file,
    load_real_questions,
    load_user_law_questions,
    run_real_eval,
    run_user_law_eval,
    set_size_problems,
    slice_metrics,
    user_law_settings,
)
from assistant.evaluation.report import (
    OVERALL_ROWS,
    ReportFiles,
    compare_reports,
    file_sha256,
    find_previous_report,
    fmt,
    gate_failures,
    git_commit,
    out_of_domain_md,
    plot_modes,
    reader_failure_reasons,
    render_gate_failures,
    render_markdown,
    splits_md,
    utc_stamp,
    write_report,
)
from assistant.evaluation.split import GATE_METRICS, SPLITS, dotted, partition, split_gap, split_of
from assistant.models import MODES

__all__ = [
    "GATE_METRICS", "REAL_MIN_QUESTIONS", "SPLITS", "USER_LAW_MIN_PER_LAW", "RealQuestion", "UserLawQuestion",
    "document_texts", "dotted", "fully_right", "grounding_problems", "law_file", "load_real_questions",
    "load_user_law_questions", "partition", "run_real_eval", "run_user_law_eval", "set_size_problems",
    "slice_metrics", "split_gap", "split_of", "splits_md", "user_law_settings",
    "ALQAC_COLLECTION", "ALQAC_PREFIX", "AlqacError", "AlqacLaws", "AlqacResult", "EvalSetError",
    "GoldQuestion", "MARKER_RE", "MODES", "NDCG_K", "OVERALL_ROWS", "Progress", "RANK_KS",
    "REPORT_VERSION", "ReportFiles", "aggregate_ranking", "alqac_rank_metrics", "article_of",
    "citation_precision_recall", "citation_problems", "compare_reports", "dcg", "dedupe_articles",
    "doc_keys", "evaluate_alqac", "evaluate_gold", "evaluate_modes", "evaluate_out_of_domain",
    "evaluate_question", "file_sha256", "find_previous_report", "first_occurrence_gains",
    "first_relevant_rank", "first_sentence", "fmt", "forbidden_hits", "gate_failures", "git_commit",
    "hit_at_k", "key_fact_hits", "law_slug", "lead_hit", "load_alqac_laws", "load_alqac_questions",
    "load_questions", "mean", "ndcg_at_k", "normalize_for_match", "out_of_domain_md", "parse_alqac_laws",
    "percentile", "phrase_count", "plot_modes", "polarity", "ranking_metrics", "reader_checks",
    "reader_failure_reasons", "reader_metrics", "reciprocal_rank", "refusal_metrics",
    "render_gate_failures", "render_markdown", "run_alqac", "run_gold_eval", "section_keys", "summarize",
    "utc_stamp", "write_report",
]
