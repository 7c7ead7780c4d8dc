"""The one list of pages: app.py's navigation and the home page's links both read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    file: str  # path relative to the project root
    title: str
    icon: str
    url_path: str
    blurb: str  # one sentence for the home page


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/activations.py", "Activations", ":material/show_chart:", "activations",
             "Every PyTorch activation and its autograd derivative, and what depth and "
             "initialisation do to the gradients flowing through them."),
    PageSpec("pages/convolution.py", "Convolution arithmetic", ":material/grid_on:", "convolution",
             "Output sizes of conv, transposed conv, pooling and upsampling, with the kernel "
             "sliding over the padded input and a shape tracer for whole layer stacks."),
    PageSpec("pages/schedulers.py", "LR schedulers", ":material/trending_down:", "schedulers",
             "The learning-rate curve of every torch.optim.lr_scheduler, composed, compared "
             "and handed to the training page."),
    PageSpec("pages/normalization.py", "Normalization", ":material/layers:", "normalization",
             "Which elements share a mean in BatchNorm, LayerNorm, GroupNorm, InstanceNorm and "
             "RMSNorm, checked against the real layers."),
    PageSpec("pages/training.py", "Training", ":material/model_training:", "training",
             "Train a network in the browser with live loss curves, decision boundaries and "
             "downloadable weights, on the GPU when there is one."),
)
