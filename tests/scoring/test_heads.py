"""Classifier heads: torch state dicts and .npz files give what the torch module gives."""

import numpy as np
import pytest
import torch

from wit_pipeline.core.errors import InputError
from wit_pipeline.scoring.heads import HeadSpec, load_head


def _embeddings(count: int = 64, width: int = 32) -> np.ndarray:
    x = np.random.default_rng(0).normal(size=(count, width)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _trained_mlp(x: np.ndarray) -> torch.nn.Sequential:
    """An MLP fitted in the test: does the first coordinate beat the second?"""
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(32, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    target = torch.tensor(x[:, 0] > x[:, 1], dtype=torch.float32)[:, None]
    optimiser = torch.optim.Adam(mlp.parameters(), lr=0.02)
    for _ in range(300):
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(mlp(torch.tensor(x)), target)
        loss.backward()
        optimiser.step()
    return mlp


def test_torch_state_dict_mlp_matches_the_module(tmp_path):
    x = _embeddings()
    mlp = _trained_mlp(x)
    torch.save(mlp.state_dict(), tmp_path / "head.pt")
    head = load_head(HeadSpec.parse(f"first={tmp_path / 'head.pt'}"))
    expected = mlp(torch.tensor(x)).detach().numpy()[:, 0]
    np.testing.assert_allclose(head(x), expected, atol=1e-5)
    assert ((head(x) > 0) == (x[:, 0] > x[:, 1])).mean() > 0.9


def test_npz_without_activation_and_with_sigmoid(tmp_path):
    rng = np.random.default_rng(1)
    w0, w1 = rng.normal(size=(8, 32)), rng.normal(size=(1, 8))
    b1 = np.array([0.5])
    np.savez(tmp_path / "h.npz", **{"a.weight": w0, "b.weight": w1, "b.bias": b1},
             activation="none", output="sigmoid")  # fmt: skip
    head = load_head(HeadSpec("h", str(tmp_path / "h.npz")))
    x = _embeddings()
    expected = 1.0 / (1.0 + np.exp(-((x @ w0.T) @ w1.T + b1)[:, 0]))
    np.testing.assert_allclose(head(x), expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"a.weight": np.zeros((4, 32)), "b.weight": np.zeros((1, 5))}, "takes 5 inputs"),
        ({"a.weight": np.zeros((2, 32))}, "gives 2 outputs, not 1"),
        ({"a.bias": np.zeros(2)}, "no PREFIX.weight arrays"),
        ({"a.weight": np.zeros((1, 32)), "activation": np.array("tanh")}, "'tanh' is not one"),
    ],
)
def test_bad_heads_are_one_line_errors(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError, match=message):
        load_head(HeadSpec("bad", str(tmp_path / "bad.npz")))


def test_width_mismatch_and_bad_specs(tmp_path):
    np.savez(tmp_path / "h.npz", **{"l.weight": np.zeros((1, 768))})
    head = load_head(HeadSpec("h", str(tmp_path / "h.npz")))
    with pytest.raises(InputError, match="takes 768-wide embeddings, the CLIP model gives 32"):
        head(_embeddings())
    for text in ("nopath", "=x.pt", "1bad=x.pt"):
        with pytest.raises(InputError, match="--classifier"):
            HeadSpec.parse(text)
    (tmp_path / "junk.pt").write_bytes(b"not a pickle")
    with pytest.raises(InputError, match=r"not an \.npz or a torch state dict"):
        load_head(HeadSpec("j", str(tmp_path / "junk.pt")))
