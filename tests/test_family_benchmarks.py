"""The conditional and semi-supervised benchmarks (benchmarks/conditional_samples.py,
benchmarks/semi_supervised.py) run end to end on real MNIST at a tiny budget and print
their tables; their full-budget figures are in docs/conditioning.md."""
from __future__ import annotations

import re

import numpy as np
import pytest

from helpers import load_benchmark


def _numbers(line: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+\.\d+", line)]


@pytest.mark.slow
def test_semi_supervised_prints_m2_beside_the_labels_alone(mnist_dir, monkeypatch, capsys):
    bench = load_benchmark("semi_supervised", monkeypatch)
    assert bench.main(["--data", str(mnist_dir), "--epochs", "1", "--unlabeled", "300", "--per-class", "2",
                       "--label-repeats", "2", "--hidden", "32", "--latent-dim", "4", "--limit", "200",
                       "--curve"]) == 0
    out = capsys.readouterr().out
    assert "20 labels (2 per class, x2 in each epoch), 300 unlabelled" in out
    assert re.search(r"epoch 1: M2 test error \d+\.\d\d %, its generative model's argmax_y ELBO", out)
    rows = {line[:32].strip(): _numbers(line[32:]) for line in out.splitlines()[-6:]}
    for name in ("classifier, 20 labels alone", "M2 (kv.SemiSupervisedVAE)"):
        error = rows[name][0]
        assert 0.0 <= error < 90.0  # better than chance already (20 labels, one epoch)


def test_the_labels_only_baseline_draws_its_batches_as_it_goes(monkeypatch):
    """Separable toy classes: the baseline learns them from batches gathered in the
    pipeline (the full budget's draws are never materialized)."""
    bench = load_benchmark("semi_supervised", monkeypatch)
    y = np.arange(20) % 10
    x = np.zeros((20, 28, 28, 1), "float32")
    x[np.arange(20), y, y, 0] = 1.0  # class k lights pixel (k, k)
    error, seconds = bench.labels_only_error(x, y, x, y, steps=60, batch_size=8, hidden=16,
                                             learning_rate=1e-2, seed=0)
    assert error == 0.0 and seconds > 0


@pytest.mark.slow
def test_conditional_samples_prints_the_accuracy_of_each_label(mnist_dir, monkeypatch, capsys):
    bench = load_benchmark("conditional_samples", monkeypatch)
    assert bench.main(["--data", str(mnist_dir), "--epochs", "1", "--limit", "2000", "--per-label", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3].split()[1:] == [str(k) for k in range(10)]
    per_label = _numbers(lines[-2])
    assert len(per_label) == 10 and all(0.0 <= a <= 1.0 for a in per_label)
    assert lines[-1].startswith("overall accuracy of the conditional samples: ")
    assert _numbers(lines[-1])[0] == pytest.approx(np.mean(per_label), abs=6e-3)


@pytest.mark.slow
def test_hierarchical_start_prints_each_variant_of_the_two_layer_row(mnist_dir, monkeypatch, capsys):
    bench = load_benchmark("hierarchical_start", monkeypatch)
    assert bench.main(["--data", str(mnist_dir), "--variants", "vae_b500", "vae_b500_torch_init",
                       "vae_b500_bias_mean", "--epochs", "1", "--train-limit", "1000", "--limit", "100"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "1 epochs of Burda et al.'s schedule on 1000 images; test ELBO on 100 test images" in lines[1]
    rows = {line.split()[0]: line.split()[1:] for line in lines[-3:]}
    assert sorted(rows) == ["vae_b500", "vae_b500_bias_mean", "vae_b500_torch_init"]
    for values in rows.values():  # test ELBO, KL z1, KL z2, active z1, active z2, seconds
        elbo, kl_1, kl_2 = float(values[0]), float(values[1].rstrip(",")), float(values[2])
        active_1, active_2 = int(values[3].rstrip(",")), int(values[4])
        assert -800.0 < elbo < 0.0 and kl_1 >= 0.0 and kl_2 >= 0.0
        assert 0 <= active_1 <= 100 and 0 <= active_2 <= 50
    assert rows["vae_b500"][0] != rows["vae_b500_torch_init"][0]  # the initialization was redrawn
    assert float(rows["vae_b500_bias_mean"][0]) > float(rows["vae_b500"][0]) + 10.0  # started at the mean image
