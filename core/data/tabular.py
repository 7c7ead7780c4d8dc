"""Your own CSV file: one header row, one sample per row, one label column.

- Label: `csv_label` (default: the last column). Task `auto`: a text label, or whole numbers with
  at most 20 distinct values, means classification; any other number means regression.
- Features: numeric columns are standardised with training statistics. Text columns are one-hot
  encoded if they have at most 20 distinct values (a note says so); more are refused, since such
  a column is usually a name or an id.
- Regression targets are standardised too (target_mean/target_std say how): a price in the
  hundred-thousands would otherwise swamp the loss.
- Missing values (empty, NA, NaN, null, ?) are refused with the column and line, never guessed.
Parsed with the standard library's csv module (core/ does not depend on pandas).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.data.bundle import DataBundle
from core.data.splits import feature_bundle

MAX_CATEGORIES = 20  # text feature columns with more distinct values are refused
MAX_AUTO_CLASSES = 20  # whole-number labels with more distinct values count as regression
MAX_CLASSES = 1000
MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and data rows, cells stripped; the delimiter (, ; tab |) is sniffed."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not a UTF-8 text file ({e.reason}). Save it as CSV (UTF-8).") from e
    if not text.strip():
        raise ValueError(f"The CSV file {path} is empty.")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # a single column, or nothing clear: plain commas
    rows = [[c.strip() for c in r] for r in csv.reader(text.splitlines(), dialect) if any(r)]
    header, body = rows[0], rows[1:]
    if not body:
        raise ValueError(f"The CSV file {path} has a header ({', '.join(header)}) but no data rows.")
    if len(set(header)) != len(header) or "" in header:
        raise ValueError(f"The header of {path} needs a unique, non-empty name for every column; "
                         f"it is: {header}.")
    for i, r in enumerate(body):
        if len(r) != len(header):
            raise ValueError(f"Line {i + 2} of {path} has {len(r)} values, but the header has "
                             f"{len(header)} columns.")
    return header, body


def _column(name: str, cells: list[str]) -> np.ndarray | list[str]:
    """A column as float64 if every cell is a number, else its text; missing cells are refused."""
    gaps = [i for i, c in enumerate(cells) if c.lower() in MISSING]
    if gaps:
        raise ValueError(f"Column {name!r} has {len(gaps)} missing value(s) (NaN or empty; the first "
                         f"on line {gaps[0] + 2}). Fill them in or delete those rows.")
    try:
        values = np.asarray(cells, dtype=np.float64)
    except ValueError:
        return cells
    if not np.isfinite(values).all():
        raise ValueError(f"Column {name!r} has infinite values: replace them with numbers.")
    return values


def _one_hot(name: str, cells: list[str]) -> tuple[np.ndarray, list[str]]:
    """One 0/1 column per distinct text value, or a refusal when there are too many."""
    cats = sorted(set(cells))
    if len(cats) > MAX_CATEGORIES:
        raise ValueError(
            f"Column {name!r} holds text with {len(cats)} different values (e.g. {cells[0]!r}), "
            f"more than the {MAX_CATEGORIES} this app one-hot encodes. Remove the column (names and "
            "ids do not help a model) or turn it into numbers.")
    index = {c: i for i, c in enumerate(cats)}
    codes = np.array([index[c] for c in cells])
    return np.eye(len(cats))[codes], cats


def _task(name: str, label: np.ndarray | list[str], wanted: str) -> str:
    """classification or regression, following the rules in the module docstring."""
    if wanted not in ("auto", "classification", "regression"):
        raise ValueError(f"csv_task must be auto, classification or regression, got {wanted!r}.")
    is_text = isinstance(label, list)
    if wanted == "regression" and is_text:
        raise ValueError(f"The label column {name!r} holds text (e.g. {label[0]!r}), so it cannot be "
                         "regressed: choose csv_task=classification.")
    if wanted != "auto":
        return wanted
    if is_text:
        return "classification"
    whole = bool(np.all(label == np.round(label)))
    return "classification" if whole and len(np.unique(label)) <= MAX_AUTO_CLASSES else "regression"


def _classes(name: str, label: np.ndarray | list[str]) -> tuple[torch.Tensor, list[str]]:
    """Class ids 0..k-1 (sorted by value) and readable class names."""
    values = sorted(set(label.tolist() if isinstance(label, np.ndarray) else label))
    if len(values) < 2:
        raise ValueError(f"The label column {name!r} has only one value ({values[0]!r}): "
                         "a classifier needs at least two classes.")
    if len(values) > MAX_CLASSES:
        raise ValueError(f"The label column {name!r} has {len(values)} different values: too many "
                         "classes. Did you mean csv_task=regression?")
    index = {v: i for i, v in enumerate(values)}
    ids = torch.tensor([index[v] for v in (label.tolist() if isinstance(label, np.ndarray) else label)])
    names = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    return ids, names


def load_csv(cfg: Any, device: torch.device | str = "cpu") -> DataBundle:
    """Read cfg.csv_path, pick the label, encode the features and split."""
    if not cfg.csv_path:
        raise ValueError("dataset=csv needs csv_path: the path of your CSV file.")
    path = Path(cfg.csv_path).expanduser()
    if not path.is_file():
        raise ValueError(f"CSV file not found: {path.resolve()}")
    header, body = _read_rows(path)
    label_name = cfg.csv_label or header[-1]
    if label_name not in header:
        raise ValueError(f"There is no column {label_name!r} in {path.name}. "
                         f"Its columns are: {', '.join(header)}.")
    if len(header) < 2:
        raise ValueError(f"{path.name} has only the label column {label_name!r}: it needs at "
                         "least one feature column too.")
    columns = {h: [r[j] for r in body] for j, h in enumerate(header)}
    feats, notes = [], []
    for h in header:
        if h == label_name:
            continue
        col = _column(h, columns[h])
        if isinstance(col, list):
            onehot, cats = _one_hot(h, col)
            feats.append(onehot)
            notes.append(f"Text column {h!r} was one-hot encoded into {len(cats)} columns "
                         f"({', '.join(cats)}).")
        else:
            feats.append(col[:, None])
    x = torch.from_numpy(np.concatenate(feats, axis=1)).float()
    label = _column(label_name, columns[label_name])
    task = _task(label_name, label, cfg.csv_task)
    if task == "classification":
        y, names = _classes(label_name, label)
        bundle = feature_bundle("csv", x, y, cfg, device, task=task, class_names=names)
    else:
        y = torch.from_numpy(np.asarray(label, dtype=np.float64)[:, None]).float()
        bundle = feature_bundle("csv", x, y, cfg, device, task=task, class_names=[label_name],
                                standardise_targets=True)
        notes.append(f"The target {label_name!r} was standardised (mean "
                     f"{float(bundle.target_mean[0]):.4g}, std {float(bundle.target_std[0]):.4g} "
                     "on the training split): losses are in units of that std.")
    bundle.notes = notes
    return bundle
