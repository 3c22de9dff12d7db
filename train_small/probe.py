"""Linear probe: multinomial logistic regression on frozen image features (torch, L-BFGS)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

L2 = 1e-3
ITERATIONS = 100


def fit_logistic(features: torch.Tensor, targets: torch.Tensor, classes: int) -> torch.nn.Linear:
    """A linear classifier fitted by full-batch L-BFGS on cross entropy + L2 on the weights."""
    generator_state = torch.get_rng_state()
    torch.manual_seed(0)
    layer = torch.nn.Linear(features.shape[1], classes)
    torch.set_rng_state(generator_state)
    optimiser = torch.optim.LBFGS(
        layer.parameters(), max_iter=ITERATIONS, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = F.cross_entropy(layer(features), targets) + L2 * layer.weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimiser.step(closure)
    return layer


def linear_probe_accuracy(features: torch.Tensor, labels: list[str | None]) -> float:
    """Top-1 on the odd-indexed labelled samples of a probe fitted on the even-indexed ones
    (features standardised with the training half's mean and spread); NaN with < 2 classes."""
    known = [i for i, label in enumerate(labels) if label is not None]
    train, test = known[0::2], known[1::2]
    classes = sorted({labels[i] for i in train})
    if len(classes) < 2 or not test:
        return float("nan")
    index = {name: k for k, name in enumerate(classes)}
    x = features.detach().float()
    mean, spread = x[train].mean(dim=0), x[train].std(dim=0) + 1e-6
    x = (x - mean) / spread
    layer = fit_logistic(x[train], torch.tensor([index[labels[i]] for i in train]), len(classes))
    with torch.no_grad():
        predicted = layer(x[test]).argmax(dim=1)
    truth = torch.tensor([index.get(labels[i], -1) for i in test])
    return float((predicted == truth).float().mean())
