"""The model section of the standalone script: the app's network written out as plain torch.

MLP, CNN and LeNet-5 are listed layer by layer from the module core.models builds (every
standard torch layer's repr is its constructor call), so names, shapes and the order in which
weights are initialised are the app's: the same seed gives the same initial weights, and the
app's model.pt loads into the script's model. ResNet is written out as classes that mirror
core/models/resnet.py. tests/test_export.py checks all of this against core.models.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from core import activations
from core.models import fast_layers

_RESNET = '''
class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the input (or its 1x1 projection), then ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:  # the sum needs matching shapes: 1x1 conv projection
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))
        self.act2 = nn.ReLU()

    def forward(self, x):
        out = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.act2(out + identity)


class ResNet(nn.Module):
    """Stem, three stages of BasicBlocks (width, 2x, 4x channels), average pool, Linear."""

    def __init__(self, in_channels, width, depth, dropout, num_outputs):
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(w), nn.ReLU())
        stages, cin = [], w
        for i, cout in enumerate((w, 2 * w, 4 * w)):
            stages.append(nn.Sequential(*[
                BasicBlock(cin if b == 0 else cout, cout, 2 if i > 0 and b == 0 else 1)
                for b in range(depth)]))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.drop = nn.Dropout(dropout) if dropout > 0 else None
        self.fc = nn.Linear(4 * w, num_outputs)
        for m in self.modules():  # He init for convs, as in the paper
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        x = self.flatten(self.pool(x))
        if self.drop is not None:
            x = self.drop(x)
        return self.fc(x)


def build_model():
    return ResNet({c}, {width}, {depth}, {dropout!r}, {outputs})
'''

_MLP = '''
class MLP(nn.Module):
    """Flatten -> hidden blocks (Linear -> norm -> activation -> dropout) -> Linear head."""

    def __init__(self, hidden, head):
        super().__init__()
        self.flatten = nn.Flatten()
        self.hidden = nn.ModuleList(hidden)
        self.head = head

    def forward(self, x):
        x = self.flatten(x)
        for block in self.hidden:
            x = block(x)
        return self.head(x)


def build_model():
    return MLP(
        [
{blocks}
        ],
        {head},
    )
'''


def layer_code(m: nn.Module) -> str:
    """Constructor code of one standard layer, e.g. 'nn.Linear(in_features=2, ...)'."""
    if isinstance(m, activations.Swish):
        return f"Swish(beta={m.beta!r})"
    if list(m.children()):
        raise ValueError(f"{type(m).__name__} is not a single layer")
    if isinstance(m, fast_layers.Dropout):  # its mask comes from other random draws than
        return repr(m)  # nn.Dropout's: the script defines it (fast_dropout_source) to repeat them
    # fast_layers' Flatten computes exactly what torch's does (only its gradient's memory
    # layout differs): the script uses torch's own
    if type(m).__module__.split(".")[:2] != ["torch", "nn"] \
            and type(m).__module__ != "core.models.fast_layers":
        raise ValueError(f"{type(m).__name__} is not a torch.nn layer")
    return f"nn.{m!r}"


def fast_dropout_source() -> str:
    """The app's Dropout, verbatim: nn.Dropout's rate and scaling, a mask from random bytes."""
    parts = [inspect.getsource(o).rstrip() for o in (
        fast_layers._random_bytes, fast_layers.keep_mask, fast_layers._dense,
        fast_layers.Dropout)]
    return ("# The app's Dropout (core/models/fast_layers.py): nn.Dropout with a cheaper mask.\n"
            "# Its random draws differ from nn.Dropout's, so it is copied to repeat the run.\n"
            f"_MIN_INT64 = {fast_layers._MIN_INT64}\n\n\n" + "\n\n\n".join(parts) + "\n")


def sequential_code(seq: nn.Sequential, indent: str) -> str:
    """nn.Sequential(OrderedDict([...])) keeping the child names (they are state_dict keys)."""
    rows = [f'{indent}    ("{name}", {layer_code(m)}),' for name, m in seq.named_children()]
    return f"{indent}nn.Sequential(OrderedDict([\n" + "\n".join(rows) + f"\n{indent}]))"


def model_section(cfg: Any, input_shape: tuple[int, ...], num_outputs: int) -> str:
    """Python source defining build_model() for cfg.model at this input shape."""
    from core.models import build_model

    head = [f"# {cfg.model} for inputs of shape {tuple(input_shape)} and {num_outputs} "
            "output(s)", "from collections import OrderedDict"]
    if cfg.model == "mlp" and cfg.activation == "swish":
        head.append(inspect.getsource(activations.Swish))
    if cfg.model == "resnet":
        return "\n".join(head) + "\n" + _RESNET.format(
            c=input_shape[0], width=cfg.width, depth=cfg.depth, dropout=cfg.dropout,
            outputs=num_outputs)
    model = build_model(cfg, tuple(input_shape), num_outputs)
    if any(isinstance(m, fast_layers.Dropout) for m in model.modules()):
        head.append(fast_dropout_source())
    if cfg.model == "mlp":
        blocks = ",\n".join(sequential_code(b, " " * 12) for b in model.hidden)
        return "\n".join(head) + "\n" + _MLP.format(blocks=blocks, head=layer_code(model.head))
    body = sequential_code(model, "    ")
    return "\n".join(head) + f"\n\n\ndef build_model():\n    return (\n{body}\n    )\n"
