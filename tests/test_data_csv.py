"""core.data.tabular: your own CSV, every way it can be right and every way it can be wrong."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.config import TrainConfig
from core.data import load_data


def load_csv(tmp_path, text: str, **kw):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return load_data(TrainConfig(dataset="csv", csv_path=str(path), **kw))


def iris_like(n: int = 60) -> str:
    rng = np.random.default_rng(0)
    rows = ["sepal,petal,colour,species"]
    for i in range(n):
        k = i % 3
        rows.append(f"{rng.normal(5 + k, 0.3):.3f},{rng.normal(1 + 2 * k, 0.2):.3f},"
                    f"{['red', 'blue'][i % 2]},{['setosa', 'versicolor', 'virginica'][k]}")
    return "\n".join(rows) + "\n"


def test_text_label_is_classification_and_text_feature_is_one_hot(tmp_path):
    b = load_csv(tmp_path, iris_like())
    assert b.task == "classification" and b.class_names == ["setosa", "versicolor", "virginica"]
    assert b.input_shape == (4,)  # sepal, petal, colour=blue, colour=red
    assert b.train.x.dtype == torch.float32 and b.train.y.dtype == torch.int64
    assert any("one-hot" in n and "'colour'" in n for n in b.notes)
    torch.testing.assert_close(b.train.x.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    assert len(b.train) + len(b.val) + len(b.test) == 60


def test_whole_number_label_with_few_values_is_classification(tmp_path):
    text = "a,b,grade\n" + "".join(f"{i},{i * 2},{i % 4 + 1}\n" for i in range(40))
    b = load_csv(tmp_path, text)
    assert b.task == "classification" and b.class_names == ["1", "2", "3", "4"]
    # class ids follow the sorted values: grade 1 -> id 0
    assert set(b.train.y.tolist()) <= {0, 1, 2, 3}


def test_real_valued_label_is_regression_with_standardised_targets(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, 50)
    text = "size,price\n" + "".join(f"{v:.3f},{1000 * v + 50000:.2f}\n" for v in x)
    b = load_csv(tmp_path, text, loss="mse")
    assert b.task == "regression" and b.num_classes == 1 and b.class_names == ["price"]
    assert b.train.y.shape == (len(b.train), 1) and b.train.y.dtype == torch.float32
    # standardised with train stats; target_mean/std map back to prices
    torch.testing.assert_close(b.train.y.mean(), torch.tensor(0.0), atol=1e-5, rtol=0)
    back = b.train.y * b.target_std + b.target_mean
    assert back.min() > 49_000 and back.max() < 61_000
    assert any("standardised" in n for n in b.notes)


def test_label_column_and_task_can_be_chosen(tmp_path):
    text = "y,x1,x2\n" + "".join(f"{i % 3},{i},{i * i}\n" for i in range(30))
    b = load_csv(tmp_path, text, csv_label="y", csv_task="regression", loss="mse")
    assert b.task == "regression" and b.input_shape == (2,)
    b = load_csv(tmp_path, text, csv_label="x1", csv_task="classification")
    assert b.task == "classification" and b.num_classes == 30


def test_semicolon_csv_and_spaces(tmp_path):
    text = "a ; b ; label\n" + "".join(f"{i} ; {i + 1} ; {'yes' if i % 2 else 'no'}\n" for i in range(20))
    b = load_csv(tmp_path, text)
    assert b.class_names == ["no", "yes"] and b.input_shape == (2,)


@pytest.mark.parametrize("text,kw,message", [
    ("", {}, "is empty"),
    ("a,b,label\n", {}, "no data rows"),
    ("a,b,label\n1,2,x\n3,4,y\n", {"csv_label": "target"}, "no column 'target'.*a, b, label"),
    ("label\n1\n2\n", {}, "at least one feature column"),
    ("a,b,label\n1,2,x\n,4,y\n5,6,x\n", {}, "Column 'a' has 1 missing value.*line 3"),
    ("a,b,label\n1,NaN,x\n3,4,y\n", {}, "Column 'b' has 1 missing"),
    ("a,b,label\n1,2,x\n3,4\n", {}, "Line 3 .* 2 values"),
    ("a,a,label\n1,2,x\n3,4,y\n", {}, "unique"),
    ("a,b,label\n1,inf,x\n3,4,y\n", {}, "infinite"),
    ("a,label\n1,x\n2,x\n3,x\n", {}, "only one value"),
    ("a,label\n1,cat\n2,dog\n", {"csv_task": "regression", "loss": "mse"}, "holds text"),
])
def test_bad_csv_files_get_clear_messages(tmp_path, text, kw, message):
    with pytest.raises(ValueError, match=message):
        load_csv(tmp_path, text, **kw)


def test_text_column_with_too_many_values_is_refused(tmp_path):
    text = "name,a,label\n" + "".join(f"person{i},{i},{i % 2}\n" for i in range(40))
    with pytest.raises(ValueError, match="'name' holds text with 40 different values"):
        load_csv(tmp_path, text)


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(ValueError, match="CSV file not found"):
        load_data(TrainConfig(dataset="csv", csv_path=str(tmp_path / "nope.csv")))
    (tmp_path / "data.bin").write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        load_data(TrainConfig(dataset="csv", csv_path=str(tmp_path / "data.bin")))
