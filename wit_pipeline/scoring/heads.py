"""Classifier heads over CLIP image embeddings: a linear layer or an MLP, as LAION's aesthetic
and NSFW predictors are, applied to the L2-normalised image embedding of the model in use.

A head is a file: a torch state dict (`.pt`, `.pth`, `.bin`) or an `.npz` with the same
names. Its layers are the `PREFIX.weight` arrays (shape out x in, as torch's Linear) in the
order the file lists them, each with an optional `PREFIX.bias`; the last gives one output.
Two optional string entries say what runs between and after them: `activation` (`relu`, the
default, or `none`: LAION's improved aesthetic MLP has none) and `output` (`none`, the
default, or `sigmoid`). The file is read with `torch.load(weights_only=True)`: no code runs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wit_pipeline.core.errors import InputError

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ACTIVATIONS = ("relu", "none")
OUTPUTS = ("none", "sigmoid")


@dataclass(frozen=True)
class HeadSpec:
    """A head as given on the command line: `NAME=PATH`."""

    name: str
    path: str

    @classmethod
    def parse(cls, text: str) -> HeadSpec:
        """`NAME=PATH`, the name a word (it names scores, rules and reasons)."""
        name, sep, path = text.partition("=")
        if not sep or not path:
            raise InputError(f"--classifier {text!r}: expected NAME=PATH")
        if not NAME.match(name):
            raise InputError(f"--classifier {text!r}: NAME must be a word (letters, digits, _)")
        return cls(name, path)

    def fingerprint(self) -> str:
        """The sha256 of the file: another file under the same name scores again."""
        try:
            return hashlib.sha256(Path(self.path).read_bytes()).hexdigest()
        except OSError as exc:
            raise InputError(f"--classifier {self.name}: cannot read {self.path} ({exc})") from exc


@dataclass(frozen=True)
class Head:
    """Loaded layers (weights out x in, biases) and what runs between and after them."""

    name: str
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation: str = "relu"
    output: str = "none"

    @property
    def input_dim(self) -> int:
        """The embedding width the head expects."""
        return int(self.weights[0].shape[1])

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        """One score per row of (n, d) normalised embeddings."""
        if embeddings.shape[1] != self.input_dim:
            raise InputError(
                f"--classifier {self.name}: the head takes {self.input_dim}-wide embeddings, "
                f"the CLIP model gives {embeddings.shape[1]}; use the head's own CLIP model"
            )
        x = embeddings.astype(np.float32)
        last = len(self.weights) - 1
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ weight.T + bias
            if index < last and self.activation == "relu":
                x = np.maximum(x, 0.0)
        x = x[:, 0]
        return 1.0 / (1.0 + np.exp(-x)) if self.output == "sigmoid" else x


def _entries(path: Path) -> dict[str, Any]:
    """The named arrays (and strings) of an .npz or a torch state dict, in file order."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {k: (str(data[k]) if data[k].dtype.kind == "U" else data[k]) for k in data}
    import torch

    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(loaded, dict) and set(loaded) == {"state_dict"}:
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        raise ValueError("not a state dict")
    return {k: (v.float().numpy() if isinstance(v, torch.Tensor) else v) for k, v in loaded.items()}


def _choice(entries: dict[str, Any], key: str, allowed: tuple[str, ...], where: str) -> str:
    value = str(entries.get(key, allowed[0]))
    if value not in allowed:
        raise InputError(f"{where}: {key} {value!r} is not one of {', '.join(allowed)}")
    return value


def load_head(spec: HeadSpec) -> Head:
    """The head in `spec.path`, its shapes checked (a chain ending in one output)."""
    where = f"--classifier {spec.name}: {spec.path}"
    path = Path(spec.path)
    if not path.is_file():
        raise InputError(f"{where}: no such file")
    try:
        entries = _entries(path)
    except Exception as exc:  # torch and numpy raise many kinds for a file that is not theirs
        raise InputError(f"{where}: not an .npz or a torch state dict ({exc})") from exc
    prefixes = [k[: -len(".weight")] for k in entries if k.endswith(".weight")]
    if not prefixes:
        raise InputError(f"{where}: no PREFIX.weight arrays")
    weights, biases = [], []
    for prefix in prefixes:
        weight = np.asarray(entries[f"{prefix}.weight"], dtype=np.float32)
        if weight.ndim != 2:
            raise InputError(f"{where}: {prefix}.weight is not a matrix")
        if weights and weight.shape[1] != weights[-1].shape[0]:
            raise InputError(
                f"{where}: {prefix}.weight takes {weight.shape[1]} inputs, "
                f"the layer before gives {weights[-1].shape[0]}"
            )
        bias = entries.get(f"{prefix}.bias")
        weights.append(weight)
        biases.append(
            np.zeros(weight.shape[0], np.float32)
            if bias is None
            else np.asarray(bias, np.float32).reshape(weight.shape[0])
        )
    if weights[-1].shape[0] != 1:
        raise InputError(f"{where}: the last layer gives {weights[-1].shape[0]} outputs, not 1")
    return Head(
        spec.name,
        tuple(weights),
        tuple(biases),
        _choice(entries, "activation", ACTIVATIONS, where),
        _choice(entries, "output", OUTPUTS, where),
    )
