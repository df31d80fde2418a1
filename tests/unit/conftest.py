"""Unit tier: no model. Constructing the real embedder fails here; ``fake_index`` is a real Chroma index
of knowledge/ built with :class:`tests.support.FakeEmbedder` (seconds, not minutes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant.config import Settings
from tests.support import KNOWLEDGE, FakeEmbedder, make_settings


@pytest.fixture(scope="module", autouse=True)
def no_real_model() -> Iterator[None]:
    """Any attempt to build the real e5 embedder in the unit tier is a test failure, not a slow pass.

    Module scope, not session: the patch must be undone before a test of another tier runs in the
    same session (``make test`` runs every tier in one process)."""
    from assistant.embed import embeddings

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the unit tier must not load the real model: use tests.support.FakeEmbedder "
                             "or move the test to tests/integration")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(embeddings.Embedder, "__init__", refuse)
        yield


@pytest.fixture(scope="session")
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def fake_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("fake-kb")
    return make_settings(data, data / "no-model")  # a model path that does not exist: nothing may read it


@pytest.fixture(scope="session")
def fake_index(fake_settings: Settings, fake_embedder: FakeEmbedder):  # noqa: ANN201
    """A session-wide index of knowledge/ embedded by the fake (read-only for tests)."""
    from assistant.ingest.pipeline import KnowledgeIndex

    index = KnowledgeIndex(fake_settings, embedder=fake_embedder)
    report = index.ingest([KNOWLEDGE])
    assert report.documents == 15 and not report.errors, report
    return index


@pytest.fixture(scope="session")
def fake_assistant(fake_settings: Settings, fake_index):  # noqa: ANN001, ANN201
    from assistant.answering.chain import Assistant

    return Assistant(fake_settings, index=fake_index)


