"""The scaling benchmark's synthetic corpus (assistant/tools/bench_scale.py): real passages replicated as new
documents with perturbed vectors, exactly up to the size asked for. No timing: the figures are the bench's."""

from __future__ import annotations

import numpy as np

from assistant.tools.bench_scale import NOISE, SeedPassage, replica_keys, replicas


def seed_passages(n: int = 5, sentences: int = 3) -> list[SeedPassage]:
    rng = np.random.default_rng(0)

    def row(rid: str, pid: str, doc: str, variant: str, start: int = 0) -> tuple:
        v = rng.standard_normal(384).astype(np.float32)
        meta = {"doc_id": doc, "passage_id": pid, "variant": variant, "text_hash": f"h-{rid}", "start": start,
                "end": start + 5}
        return rid, f"văn bản {rid}", meta, v / np.linalg.norm(v)

    return [SeedPassage(row(f"p{i}", f"p{i}", f"doc{i % 2}", "orig"),
                        [row(f"p{i}:s{j}", f"p{i}", f"doc{i % 2}", "sent", 10 * j) for j in range(sentences)])
            for i in range(n)]


def test_replicas_reach_the_size_with_new_ids_and_perturbed_vectors() -> None:
    seed = seed_passages()  # 5 passages x 4 vectors = 20 per replica
    out = list(replicas(seed, 100))
    assert sum(p.vectors for _, p in out) == 100
    assert [p.orig[0] for r, p in out if r == 0] == [p.orig[0] for p in seed], "replica 0 is the seed itself"
    assert all(np.array_equal(p.orig[3], s.orig[3]) for (_, p), s in zip(out[:5], seed, strict=True))
    ids = [row[0] for _, p in out for row in (p.orig, *p.sentences)]
    assert len(ids) == len(set(ids)), "every row has its own id"
    for r, p in out[5:]:
        src = seed[int(p.orig[2]["passage_id"].split("~")[0][1:])]
        assert p.orig[2]["doc_id"] == f"{src.orig[2]['doc_id']}~r{r}" and p.orig[1] == src.orig[1]
        assert all(s[2]["passage_id"] == p.orig[2]["passage_id"] for s in p.sentences)
        cos = float(p.orig[3] @ src.orig[3])
        assert abs(np.linalg.norm(p.orig[3]) - 1) < 1e-5 and 0.95 < cos < 0.999, cos
    assert NOISE > 0


def test_zero_means_the_seed_once() -> None:
    seed = seed_passages()
    assert [p.orig[0] for _, p in replicas(seed, 0)] == [p.orig[0] for p in seed]


def test_replica_keys_are_the_passages_replicas_yields_in_snapshot_order() -> None:
    """The vector store is opened before any row is written: its ids must be the ones the rows will carry,
    sorted as a worker's snapshot sorts them (document, then ordinal)."""
    seed = seed_passages()
    for i, p in enumerate(seed):
        p.orig[2]["ordinal"] = 4 - i
    for target in (0, 100, 97):
        out = list(replicas(seed, target))
        keys, sentences = replica_keys(seed, target)
        want = sorted(((str(p.orig[2]["doc_id"]), int(p.orig[2]["ordinal"]), str(p.orig[2]["passage_id"]))
                       for _, p in out), key=lambda k: (k[0], k[1]))
        assert keys == want
        assert sentences == sum(len(p.sentences) for _, p in out)
