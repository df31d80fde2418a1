"""The domain vocabulary as data: ``lexicon.yaml`` beside this file, read and checked once at import.

Posts, election bodies, levels of government, document kinds, statuses, abbreviations, synonyms,
provinces and stop words live in the YAML file; this module gives them types and the lookups code
needs (``LEXICON.kind_labels``, ``LEXICON.local_levels``, …). Nothing else in the code base lists
them, so adding a post or a document kind is one edit in ``lexicon.yaml`` (README: "Thêm chức danh,
loại văn bản"). It imports no other project module: everything may import it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any

import yaml

GENERIC_CONTEXTS = ("rules", "pairs", "holders")


class LexiconError(ValueError):
    """``lexicon.yaml`` is malformed: raised at import, naming the entry, so a bad edit cannot ship."""


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


@dataclass(frozen=True)
class DocumentKind:
    id: str
    label: str
    rule: bool  # its passages state rules
    primacy: int  # how primary a source of this kind is
    number_suffix: str = ""  # "NĐ-CP": a bare number containing it is of this kind


@dataclass(frozen=True)
class Level:
    id: str
    local: bool  # one of the four local levels
    cues: tuple[str, ...]  # folded words of a question that name it
    phrase: str = ""  # the sources' words for it
    mention: str = ""  # regex (folded): a sentence names it
    explicit: str = ""  # regex (folded): a sentence names it explicitly ("cấp xã")


@dataclass(frozen=True)
class Body:
    folded: str
    name: str
    per_election: bool  # one of the bodies formed for each election


@dataclass(frozen=True)
class Post:
    folded: str
    name: str = ""  # how an answer names it ("" = not named on its own)
    forms: tuple[str, ...] = ()  # how sentences name it (folded); () = its folded form
    generic: frozenset[str] = field(default_factory=frozenset)  # contexts where the word alone tells nothing


@dataclass(frozen=True)
class Lexicon:
    document_kinds: tuple[DocumentKind, ...]
    number_suffix_order: tuple[str, ...]
    document_words: tuple[tuple[str, tuple[str, ...]], ...]  # (folded word, kinds it may mean)
    heading_document_kinds: tuple[str, ...]
    statuses: tuple[tuple[str, str], ...]  # (id, label)
    levels: tuple[Level, ...]
    bodies: tuple[Body, ...]
    posts: tuple[Post, ...]
    village_equivalents: tuple[tuple[tuple[str, ...], str], ...]  # (forms, what they become at the village)
    synonyms: tuple[tuple[str, tuple[str, ...]], ...]  # (canonical, forms)
    abbreviations: dict[str, str]
    provinces: tuple[str, ...]
    stopwords: frozenset[str]

    # --- lookups -------------------------------------------------------------------------------------------
    @cached_property
    def kind_ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.document_kinds)

    @cached_property
    def kind_labels(self) -> dict[str, str]:
        return {k.id: k.label for k in self.document_kinds}

    @cached_property
    def rule_kinds(self) -> tuple[str, ...]:
        """Kinds whose passages state rules (law, decree, …); news, Q&A and summaries do not."""
        return tuple(k.id for k in self.document_kinds if k.rule)

    @cached_property
    def primacy(self) -> dict[str, int]:
        return {k.id: k.primacy for k in self.document_kinds}

    @cached_property
    def number_suffixes(self) -> tuple[tuple[str, str], ...]:
        """``(suffix, label)`` in the order a bare number is tried: ``("NĐ-CP", "Nghị định")`` first."""
        by_id = {k.id: k for k in self.document_kinds}
        return tuple((by_id[i].number_suffix, by_id[i].label) for i in self.number_suffix_order)

    @cached_property
    def kind_words(self) -> dict[str, tuple[str, ...]]:
        """Folded word -> the kinds it may mean, for the words that name a kind of the sources."""
        return {w: kinds for w, kinds in self.document_words if kinds}

    @cached_property
    def status_labels(self) -> dict[str, str]:
        return dict(self.statuses)

    @cached_property
    def local_levels(self) -> tuple[str, ...]:
        """``("tinh", "huyen", "xa", "thon")``: the four local levels, top down."""
        return tuple(lv.id for lv in self.levels if lv.local)

    @cached_property
    def election_bodies(self) -> tuple[str, ...]:
        """The bodies formed for each election, folded: ``("uy ban bau cu", "ban bau cu", "to bau cu")``."""
        return tuple(b.folded for b in self.bodies if b.per_election)

    @cached_property
    def post_names(self) -> dict[str, str]:
        return {p.folded: p.name for p in self.posts if p.name}

    def generic_posts(self, context: str) -> tuple[str, ...]:
        """Posts whose word alone tells nothing in ``context`` (one of :data:`GENERIC_CONTEXTS`)."""
        if context not in GENERIC_CONTEXTS:
            raise KeyError(context)
        return tuple(p.folded for p in self.posts if context in p.generic)


def _str(entry: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise LexiconError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return _nfc(value)


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise LexiconError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return tuple(_nfc(v) for v in value)


def parse(data: Any, source: str = "lexicon.yaml") -> Lexicon:
    """A :class:`Lexicon` from the parsed YAML; :class:`LexiconError` names the first malformed entry."""
    if not isinstance(data, dict):
        raise LexiconError(f"{source}: expected a mapping of sections")

    def section(name: str) -> list[dict[str, Any]]:
        items = data.get(name)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise LexiconError(f"{source}: '{name}' must be a list of entries")
        return items

    kinds = tuple(DocumentKind(_str(k, "id", f"{source}: document_kinds"), _str(k, "label", f"{source}: {k.get('id')}"),
                               bool(k.get("rule", False)), int(k.get("primacy", 0)), _str(k, "number_suffix", "", ""))
                  for k in section("document_kinds"))
    ids = [k.id for k in kinds]
    if len(set(ids)) != len(ids):
        raise LexiconError(f"{source}: document_kinds: duplicate id in {ids}")
    order = _strs(data.get("number_suffix_order"), f"{source}: number_suffix_order")
    for i in order:
        if i not in ids or not next(k for k in kinds if k.id == i).number_suffix:
            raise LexiconError(f"{source}: number_suffix_order: {i!r} is not a kind with a number_suffix")
    words = tuple((_str(w, "word", f"{source}: document_words"), _strs(w.get("kinds", []), f"{source}: {w.get('word')}"))
                  for w in section("document_words"))
    for w, ks in words:
        if unknown := [k for k in ks if k not in ids]:
            raise LexiconError(f"{source}: document_words: {w!r} names unknown kinds {unknown}")
    levels = tuple(Level(_str(lv, "id", f"{source}: levels"), bool(lv.get("local", False)),
                         _strs(lv.get("cues"), f"{source}: levels {lv.get('id')}"), _str(lv, "phrase", "", ""),
                         _str(lv, "mention", "", ""), _str(lv, "explicit", "", "")) for lv in section("levels"))
    bodies = tuple(Body(_str(b, "folded", f"{source}: bodies"), _str(b, "name", f"{source}: bodies"),
                        bool(b.get("per_election", False))) for b in section("bodies"))
    posts = []
    for p in section("posts"):
        where = f"{source}: posts {p.get('folded')}"
        generic = frozenset(_strs(p.get("generic"), where))
        if bad := generic - set(GENERIC_CONTEXTS):
            raise LexiconError(f"{where}: generic contexts {sorted(bad)} (use {', '.join(GENERIC_CONTEXTS)})")
        posts.append(Post(_str(p, "folded", where), _str(p, "name", where, ""), _strs(p.get("forms"), where), generic))
    village = tuple((_strs(v.get("forms"), f"{source}: village_equivalents"),
                     _str(v, "becomes", f"{source}: village_equivalents")) for v in section("village_equivalents"))
    synonyms = tuple((_str(s, "canonical", f"{source}: synonyms"), _strs(s.get("forms"), f"{source}: synonyms"))
                     for s in section("synonyms"))
    abbreviations = data.get("abbreviations")
    if not isinstance(abbreviations, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                      for k, v in abbreviations.items()):
        raise LexiconError(f"{source}: 'abbreviations' must map strings to strings")
    return Lexicon(
        document_kinds=kinds, number_suffix_order=order, document_words=words,
        heading_document_kinds=_strs(data.get("heading_document_kinds"), f"{source}: heading_document_kinds"),
        statuses=tuple((_str(s, "id", f"{source}: statuses"), _str(s, "label", f"{source}: statuses"))
                       for s in section("statuses")),
        levels=levels, bodies=bodies, posts=tuple(posts), village_equivalents=village, synonyms=synonyms,
        abbreviations={_nfc(k): _nfc(v) for k, v in abbreviations.items()},
        provinces=_strs(data.get("provinces"), f"{source}: provinces"),
        stopwords=frozenset(_strs(data.get("stopwords"), f"{source}: stopwords")),
    )


def load() -> Lexicon:
    """Read ``lexicon.yaml`` from the installed package (a wheel carries it as package data)."""
    text = resources.files(__name__).joinpath("lexicon.yaml").read_text("utf-8")
    return parse(yaml.safe_load(text))


LEXICON = load()
