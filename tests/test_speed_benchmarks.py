"""The speed and equal-budget benchmarks (benchmarks/throughput.py --profile,
benchmarks/pythae_compare.py): what they build and measure, on tiny budgets."""
from __future__ import annotations

import importlib.util
import sys

import keras
import numpy as np
import pytest

from helpers import load_benchmark as _load



@pytest.fixture(scope="module")
def throughput():
    with pytest.MonkeyPatch.context() as patch:
        yield _load("throughput", patch)


@pytest.fixture(scope="module")
def compare():
    with pytest.MonkeyPatch.context() as patch:
        yield _load("pythae_compare", patch)


def test_profile_rows_are_cumulative_sub_graphs_ending_at_fits_step(throughput):
    """--profile times the bound, sampling, the gradients and the whole update, each
    looped in one graph, and ends at fit's own time per step."""
    model = throughput.ours("mlp")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).integers(0, 2, (throughput.BATCH, 28, 28, 1)).astype("float32")
    weights = [w.numpy() for w in model.trainable_variables]
    rows = throughput.profile(model, x, fit_step=1.0, steps=2, rounds=1)
    assert [name for name, _ in rows] == [
        "matrix products (in-graph bound)", "+ sampling", "+ element-wise (loss and gradients)",
        "+ optimizer and metrics (_update)", "+ framework overhead (fit, per step)",
    ]
    assert all(seconds > 0 for _, seconds in rows[:4]) and rows[-1][1] == 1.0
    assert rows[1][1] > rows[0][1]  # sampling is added to the bound
    # The _update row really trained (its loop is not optimized away): weights moved.
    assert any(not np.allclose(w, v.numpy()) for w, v in zip(weights, model.trainable_variables))


def test_matmul_bound_is_not_hoisted_out_of_its_loop(throughput):
    """Twenty iterations of the bound's loop take longer than two: every iteration
    depends on the last, so XLA cannot compute the products once."""
    x = np.ones((throughput.BATCH, 28, 28, 1), "float32")
    few, many = (throughput.matmul_bound(x, steps, rounds=3) * steps for steps in (2, 40))
    assert many > 5 * few


@pytest.mark.parametrize("name", ["vae", "vamp", "iwae", "iaf"])
def test_pythae_compare_builds_the_protocols_models(compare, name):
    import keras_vae as kv

    vae = compare.keras_vae_model(name, seed=0)
    assert vae.latent_dim == compare.LATENT == 20
    assert vae.encoder.hidden_units == [400] and vae.decoder.hidden_units == [400]
    if name == "iwae":
        assert isinstance(vae.objective, kv.objectives.IWAE) and vae.objective.num_samples == 5
    if name == "vamp":
        assert vae.prior_layer.num_pseudo_inputs == 50  # pythae's default
    if name == "iaf":  # pythae's default flow: 2 MADE blocks of 3 x 128, no context
        head = vae.posterior_layer
        assert (head.num_flows, head.hidden_units, head.context_size) == (2, [128, 128, 128], 0)


def test_pythae_compare_names_a_failed_pythae_run(compare, tmp_path):
    """A Python without torch / pythae fails in the worker; the error carries its stderr."""
    npz = tmp_path / "data.npz"
    np.savez(npz, train=np.zeros((4, 28, 28, 1), "float32"), test=np.zeros((2, 28, 28, 1), "float32"))
    args = type("Args", (), dict(batch_size=2, epochs=1, learning_rate=1e-3, num_samples=2, binarization="static"))
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here; the failure path needs a Python without it")
    with pytest.raises(RuntimeError, match="pythae run failed.*(torch|pythae)"):
        compare.call_pythae(sys.executable, "vae", str(npz), args, seed=0)


def test_torch_style_init_redraws_every_dense_layer_within_torchs_bound(compare):
    """--init torch: kernels and biases uniform in +-1/sqrt(fan_in) (nn.Linear's
    default), where Keras drew Glorot kernels and zero biases."""
    vae = compare.keras_vae_model("vae", seed=0)
    dense = [layer for layer in vae._flatten_layers() if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 4  # encoder body, posterior head, decoder body, likelihood head
    assert all(not np.any(layer.bias.numpy()) for layer in dense)
    compare.torch_style_init(vae, seed=0)
    for layer in dense:
        bound = 1 / np.sqrt(layer.kernel.shape[0])
        kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
        assert np.abs(kernel).max() <= bound
        assert np.abs(kernel).max() > 0.9 * bound and np.abs(bias).max() > 0.5 * bound


def test_paper_table_keys_name_the_condition_and_the_seed_and_keep_earlier_keys(monkeypatch):
    import argparse
    import json

    table = _load("paper_table", monkeypatch)
    args = argparse.Namespace(schedule="fixed", epochs=1, batch_size=20, num_samples=200, warmup=0, seed=0)
    # Earlier results.json keys (unconditioned rows, seed 0) are read back unchanged.
    assert table._key("vae_k1", args, 500) == "vae_k1/fixed/1/20/200/500"
    conditioned = table._key("cond_vae_k1", args, 500)
    assert conditioned.startswith("cond_vae_k1/fixed/1/20/200/500/condition=")
    assert json.loads(conditioned.split("condition=")[1]) == {"name": "one_hot", "num_classes": 10}
    assert table.ROWS["cond_vae_k1"][0]["condition"] == table.LABEL_CONDITION
    args.seed = 3
    assert table._key("vae_k1", args, 500).endswith("/seed3") and table._key("cond_vae_k1", args, 500).endswith("/seed3")
    args.seed, args.lr_scale = 0, 5.0  # a scaled schedule is another result
    assert table._key("vae_k1", args, 500) == "vae_k1/fixed/1/20/200/500/lr5"
    args.lr_scale = 1.0
    assert table._key("vae_k1", args, 500) == "vae_k1/fixed/1/20/200/500"
    args.output_bias = "data-mean"  # a model started at the data's mean is another result
    assert table._key("vae_k1", args, 500) == "vae_k1/fixed/1/20/200/500/bias-mean"


def test_paper_table_scales_every_learning_rate_of_the_schedule_and_refuses_a_bad_scale(monkeypatch, capsys):
    table = _load("paper_table", monkeypatch)
    paper, scaled = table.paper_learning_rate, table.scaled_learning_rate(5.0)
    for epoch in (0, 1, 3, 4, 12, 13, 39, 40, 1092, 1093, 3279):
        assert scaled(epoch) == pytest.approx(5.0 * paper(epoch))
    assert paper(0) == pytest.approx(1e-3) and paper(3279) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="must be > 0"):
        table.scaled_learning_rate(-1.0)
    for bad, why in ((["--schedule", "paper", "--lr-scale", "0"], "must be > 0"),
                     (["--lr-scale", "5"], "give --schedule paper"),
                     (["--plot-with", "/tmp"], "--plot-with needs --plot"),
                     (["--plot", "x.png", "--plot-with", "/nonexistent"], "not a run folder")):
        with pytest.raises(SystemExit):  # argparse's error, before any data is read
            table.main(bad + ["--data", "/nonexistent"])
        assert why in capsys.readouterr().err


def test_paper_table_curve_keeps_the_last_record_of_a_resumed_epoch_and_draws_it(monkeypatch, tmp_path):
    import argparse
    import json

    table = _load("paper_table", monkeypatch)
    row = tmp_path / "vae_k1"
    row.mkdir()
    # Stage ends in curve.jsonl, every 10 epochs in epochs.jsonl; a resume from the
    # epoch-20 checkpoint wrote epoch 20 and 30 again.
    (row / "curve.jsonl").write_text("".join(json.dumps({"epoch": e, "test_elbo": v}) + "\n"
                                             for e, v in [(1, -200.0), (4, -170.0), (13, -130.0)]))
    (row / "epochs.jsonl").write_text("".join(json.dumps({"epoch": e, "test_elbo": v}) + "\n"
                                              for e, v in [(10, -140.0), (20, -120.0), (30, -115.0),
                                                           (20, -121.0), (30, -116.0), (40, -110.0)]))
    assert table.read_curve(row / "curve.jsonl", row / "epochs.jsonl") == [
        (1, -200.0), (4, -170.0), (10, -140.0), (13, -130.0), (20, -121.0), (30, -116.0), (40, -110.0)]
    assert table.read_curve(row / "missing.jsonl") == []
    args = argparse.Namespace(schedule="paper", epochs=2, batch_size=500, num_samples=5000, warmup=0, seed=0,
                              rows=["vae_k1"])
    picture = tmp_path / "curve.png"
    table.plot_curves(args, {}, tmp_path, 10000, picture)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
    # A second run folder (say, the same row started another way), drawn beside it with
    # its own final NLL: the one result of that row on that schedule and test set.
    other = tmp_path / "other"
    (other / "vae_k1").mkdir(parents=True)
    (other / "vae_k1" / "curve.jsonl").write_text(json.dumps({"epoch": 1, "test_elbo": -150.0}) + "\n")
    (other / "results.json").write_text(json.dumps({
        "vae_k1/paper/2/500/5000/10000/bias-mean": {"nll": 87.5, "epochs": 3280},
        "vae_k1/paper/2/500/5000/1000/bias-mean": {"nll": 99.0, "epochs": 3280}}))
    found = table._result_in_folder(other, "vae_k1", "paper", 10000)
    assert found["nll"] == 87.5 and found["num_samples"] == 5000  # the folder's own K
    assert table._result_in_folder(other, "h2_vae_k1", "paper", 10000) is None
    args.plot_with = [str(other)]
    both = tmp_path / "both.png"
    table.plot_curves(args, {}, tmp_path, 10000, both)
    assert both.stat().st_size > picture.stat().st_size


def test_paper_table_curve_records_the_training_seconds_of_each_stretch(monkeypatch, tmp_path):
    import json

    import tensorflow as tf

    table = _load("paper_table", monkeypatch)
    clock = iter([0.0, 2.0, 10.0, 13.0, 20.0, 24.0])  # three epochs of 2, 3 and 4 s
    monkeypatch.setattr(table.time, "perf_counter", lambda: next(clock))
    curve = table.StageCurve(tmp_path / "c.jsonl", np.zeros((4, 8), "float32"), every={1, 2})

    class Model:
        def elbo(self, x, seed=0):
            return tf.fill([len(x)], -90.0)

    curve.set_model(Model())
    for epoch in range(3):
        curve.on_epoch_begin(epoch)
        curve.on_epoch_end(epoch, {"loss": 1.0})
    records = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r["train_seconds"]) for r in records] == [(2, 5.0), (3, 4.0)]


@pytest.fixture(scope="module")
def budget():
    with pytest.MonkeyPatch.context() as patch:
        yield _load("schedule_budget", patch)


def test_the_bound_multiplies_by_the_weights_of_the_mlp_it_is_given(throughput):
    """The bound's matrices are the MLP's: this benchmark's 784-400-20 by default,
    Burda et al.'s 784-200-200-50 (two heads of 50) for the schedule's budget."""
    assert throughput.mlp_weight_shapes(784) == [(784, 400), (400, 40), (20, 400), (400, 784)]
    assert throughput.mlp_weight_shapes(784, (200, 200), 50, (200, 200)) == [
        (784, 200), (200, 200), (200, 100), (50, 200), (200, 200), (200, 784)]


def test_schedule_budget_prints_each_part_as_the_minutes_of_the_papers_schedule(budget, capsys):
    """3,280 epochs of 60,000 images: 120 steps an epoch at batch 500."""
    assert budget.schedule_minutes(0.010, 500) == pytest.approx(0.010 * 120 * 3280 / 60)
    assert budget.schedule_minutes(0.010, 70) == pytest.approx(0.010 * 858 * 3280 / 60)  # the last, smaller batch
    assert budget.main(["--batch-sizes", "50", "--images", "200", "--epochs", "1", "--graph-steps", "2",
                        "--rounds", "1", "--steps-per-execution", "1"]) == 0
    table = capsys.readouterr().out.split("schedule min\n")[-1].splitlines()
    assert [line.split()[0] for line in table] == ["50"] * 4
    assert [line[7:41].strip() for line in table] == [
        "matrix products (in-graph bound)", "the step in one graph (_update)", "fit, pre-binarized array",
        "fit, dynamic binarization"]
    for line in table:
        ms, images_per_s, minutes = (float(v) for v in line.split()[-3:])
        assert ms > 0 and images_per_s == pytest.approx(50e3 / ms, rel=0.01)
        assert minutes == pytest.approx(budget.schedule_minutes(ms / 1e3, 50), rel=0.01)


@pytest.mark.xla
@pytest.mark.slow
def test_a_two_layer_step_costs_at_most_the_target_times_a_one_layer_step(monkeypatch, capsys):
    """Burda's architecture at batch 100, as users compile it (XLA on a CPU); rounds
    interleaved, and the fastest round of each compared: the other test process's load
    comes in bursts (under it both models ran at ~35 ms/step, against 18 and 22 idle)."""
    speed = _load("hierarchical_speed", monkeypatch)
    result = speed.measure(rounds=5, steps=20)
    assert result["xla_one"] and result["xla_two"]
    assert result["ratio_of_fastest"] <= speed.TARGET, result
    speed.report(result, speed.argparse.Namespace(objective="elbo", batch_size=100, rounds=5, steps=20,
                                                  inference="bottom_up"))
    printed = capsys.readouterr().out.splitlines()
    assert printed[1].startswith("one stochastic layer") and printed[2].startswith("two stochastic layers")
    assert printed[3].startswith(f"ratio two / one: {result['ratio']:.2f}x (target <= 1.6x; fastest rounds: ")


def test_steps_threshold_prints_a_whole_fit_time_for_each_length(monkeypatch, capsys, mnist_dir):
    bench = _load("steps_threshold", monkeypatch)
    assert bench.main(["--data", str(mnist_dir), "--steps", "2", "--rounds", "1"]) == 0
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[0] == "2" and float(row[1]) > 0 and float(row[2]) > 0
    assert float(row[3]) > 0
    with pytest.raises(SystemExit):
        bench.main(["--steps", "0"])


def test_throughput_times_keras_vae_at_the_steps_per_call_of_a_long_fit(throughput, capsys, mnist_dir):
    # Its timed fits are short; "auto" would give them one step per call, so the
    # benchmark asks for what "auto" gives a long fit (32), and prints it.
    from keras_vae.models._steps_per_execution import AUTO_STEPS

    throughput.main(["--data", str(mnist_dir),
                     "--arch", "mlp", "--images", "256", "--epochs", "1", "--rounds", "1", "--graph-steps", "2"])
    out = capsys.readouterr().out
    ours = next(line for line in out.splitlines() if line.startswith("[mlp] keras_vae "))
    theirs = next(line for line in out.splitlines() if line.startswith("[mlp] hand-written"))
    assert ours.endswith(f"; {AUTO_STEPS} step(s) per call)") and theirs.endswith("; 1 step(s) per call)"), out


def test_released_code_start_prints_each_variant_and_the_data_mean_bias_starts_higher(monkeypatch, capsys, mnist_dir):
    bench = _load("released_code_start", monkeypatch)
    assert bench.VARIANTS["all_three"] == (0.99, 5e-6, True)  # yburda/iwae: beta_1, 1e-4 per summed batch of 20
    assert bench.main(["--data", str(mnist_dir), "--epochs", "1", "--train-limit", "1000", "--batch-size", "500",
                       "--variants", "keras_vae", "output_bias"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[-2:]}
    assert rows["keras_vae"][3] == "zero" and rows["output_bias"][3] == "mean"
    assert float(rows["output_bias"][4]) > float(rows["keras_vae"][4]) + 10.0


@pytest.mark.slow
def test_paper_table_scores_a_row_trained_in_an_earlier_sitting_without_training_it_again(monkeypatch, capsys,
                                                                                          mnist_dir, tmp_path):
    # A sitting cut short after training (the evaluation killed) leaves model.keras and
    # trained.json: the next sitting loads the model and only scores it.
    import json

    table = _load("paper_table", monkeypatch)
    argv = ["--data", str(mnist_dir), "--rows", "vae_k1", "--epochs", "1", "--batch-size", "500",
            "--limit", "50", "--num-samples", "5", "--out", str(tmp_path)]
    assert table.main(argv) == 0
    first = json.loads((tmp_path / "results.json").read_text())
    assert json.loads((tmp_path / "vae_k1" / "trained.json").read_text())["epochs"] == 1
    (tmp_path / "results.json").unlink()
    monkeypatch.setattr(table, "_train_row", lambda *a, **k: pytest.fail("trained again"))
    assert table.main(argv) == 0
    again = json.loads((tmp_path / "results.json").read_text())
    key = next(iter(first))
    for field in ("nll", "stderr", "test_elbo", "active_units", "train_seconds"):
        assert again[key][field] == first[key][field]
    with pytest.raises(SystemExit, match="give another --out"):  # other settings, same folder
        table.main(argv + ["--output-bias", "data-mean"])
