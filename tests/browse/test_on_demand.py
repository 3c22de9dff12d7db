"""Without saved embeddings, image search encodes the kept samples with the filter's model:
the same vectors the filter saved, kept samples only, nothing written to the workspace."""

import shutil

import numpy as np
import pytest

from wit_pipeline.browse import Filters, Index
from wit_pipeline.core.workspace import Workspace


@pytest.fixture(scope="module")
def unsaved(browse_workspace, tmp_path_factory) -> Workspace:
    """A copy of the browse workspace without scores/embeddings."""
    workspace = Workspace(tmp_path_factory.mktemp("unsaved") / "w")
    shutil.copytree(browse_workspace.root, workspace.root)
    shutil.rmtree(workspace.scores_dir / "embeddings")
    return workspace


def files(workspace: Workspace) -> list[tuple[str, int]]:
    return sorted((str(p), p.stat().st_mtime_ns) for p in workspace.root.rglob("*"))


def test_kept_samples_are_encoded_like_the_filter_saved_them(unsaved, index):
    before = files(unsaved)
    with Index.open(unsaved) as fresh:
        assert not fresh.has_embeddings() and fresh.images_searchable()
        results = fresh.search("a red star", k=5)
        assert {r.match for r in results} == {"text-image"}
        assert all(r.item["keep"] for r in results)
        computed = fresh.vectors
        assert len(computed) == fresh.count(Filters(keep=True))
        for rid, vector in zip(computed.rids[:5], computed.matrix[:5], strict=True):
            saved = index.vectors.vector_of(int(rid))
            assert float(np.dot(saved, vector)) > 0.98
    assert files(unsaved) == before
