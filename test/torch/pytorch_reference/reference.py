"""PyTorch side of test/torch/pytorch_reference.slow.test.ts.

Usage: reference.py <case.json> <dtype: float64|float32> <out.json>

The case names a model (the same architecture as the test's lightning-ts model, with the same
parameter names) and its sizes, an optimizer with its arguments, and raw little-endian files:
every parameter's initial value (float32) and the batches, either one per step stacked
[steps, ...] with their labels [steps, batch] (images [steps, batch, 1, 28, 28]; sequences
[steps, S, N, E]) or, for the language model, one batchified token source [steps * bptt + 1,
batch]. Prints nothing; writes the per-step losses and the first step's gradients.
"""
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(torch.flatten(x, 1))


class RNNModel(nn.Module):
    """pytorch/examples word_language_model's RNNModel("LSTM", ...), dropout 0, untied."""

    def __init__(self, ntoken, ninp, nhid, nlayers):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(0.0)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nlayers, self.nhid = nlayers, nhid

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(self.drop(output))
        return decoded.view(-1, self.ntoken), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history (the example's)."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


class TransformerClassifier(nn.Module):
    def __init__(self, d_model, nhead, dim_feedforward, nlayers, classes):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=dim_feedforward, dropout=0.0)
        self.encoder = nn.TransformerEncoder(layer, nlayers)
        self.head = nn.Linear(d_model, classes)

    def forward(self, x):
        return self.head(self.encoder(x).mean(0))


def build(case):
    cfg = case["config"]
    kind = case["model"]
    if kind == "mlp":
        return MLP()
    if kind == "cnn":
        return CNN()
    if kind == "lstm":
        return RNNModel(cfg["ntoken"], cfg["ninp"], cfg["nhid"], cfg["nlayers"])
    if kind == "transformer":
        return TransformerClassifier(cfg["dModel"], cfg["nhead"], cfg["dimFeedforward"], cfg["nlayers"], cfg["classes"])
    raise ValueError(kind)


def read_raw(spec):
    value = np.fromfile(spec["file"], dtype={"float32": "<f4", "int32": "<i4"}[spec["dtype"]]).reshape(spec["shape"])
    return torch.from_numpy(value)


def batch_losses(model, case, dtype):
    """One (input, label) batch per step: cross-entropy of the logits."""
    xs = read_raw(case["inputs"]).to(dtype)
    ys = read_raw(case["targets"]).long()
    return lambda step: F.cross_entropy(model(xs[step]), ys[step])


def lm_losses(model, case, dtype):
    """word_language_model's train(): get_batch, hidden carried across batches detached."""
    source = read_raw(case["inputs"]).long()
    bptt = case["config"]["bptt"]
    hidden = model.init_hidden(case["config"]["batch"])

    def loss_at(step):
        nonlocal hidden
        i = step * bptt
        data, targets = source[i : i + bptt], source[i + 1 : i + 1 + bptt].reshape(-1)
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
        return F.cross_entropy(output, targets)

    return loss_at


def main():
    case_path, dtype_name, out_path = sys.argv[1:4]
    # "float32~<seed>": float32 from initial weights moved by at most one ulp, at random (see below).
    dtype_name, _, perturb_seed = dtype_name.partition("~")
    dtype = {"float64": torch.float64, "float32": torch.float32}[dtype_name]
    torch.set_num_threads(1)
    with open(case_path) as f:
        case = json.load(f)

    model = build(case).to(dtype)
    # The generated weights must name every parameter of PyTorch's state_dict and nothing else
    # (only buffers, BatchNorm's running stats, stay at their defaults): our names are checked.
    weights = {name: read_raw({**spec, "dtype": "float32"}).to(dtype) for name, spec in case["weights"].items()}
    if perturb_seed:
        # How far float32 rounding noise alone carries a run: every initial weight moved by -1, 0
        # or +1 ulp, as a different summation order would move it.
        g = torch.Generator().manual_seed(int(perturb_seed))
        for name, w in weights.items():
            step = torch.randint(-1, 2, w.shape, generator=g).to(torch.float32)
            weights[name] = torch.nextafter(w, w + step * torch.where(w == 0, torch.ones_like(w), w.abs()))
    result = model.load_state_dict(weights, strict=False)
    buffers = [n for n, _ in model.named_buffers()]
    # (BatchNorm fills in a missing num_batches_tracked itself, so it is not reported.)
    if result.unexpected_keys or not set(result.missing_keys) <= set(buffers):
        sys.exit(f"state_dict keys differ: unexpected {result.unexpected_keys}, missing {result.missing_keys}")
    state_dict_keys = list(model.state_dict().keys())

    name, kwargs = case["optimizer"]["name"], case["optimizer"]["kwargs"]
    opt = getattr(torch.optim, name)(model.parameters(), **kwargs)
    loss_at = (lm_losses if case["model"] == "lstm" else batch_losses)(model, case, dtype)
    steps = case["steps"]

    losses, grads = [], {}
    model.train()
    for step in range(steps):
        opt.zero_grad()
        loss = loss_at(step)
        loss.backward()
        if step == 0:
            grads = {n: p.grad.detach().double().flatten().tolist() for n, p in model.named_parameters()}
        opt.step()
        losses.append(loss.item())

    with open(out_path, "w") as f:
        json.dump({"losses": losses, "grads": grads, "stateDictKeys": state_dict_keys, "torch": torch.__version__}, f)


if __name__ == "__main__":
    main()
