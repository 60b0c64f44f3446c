"""MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 with TF_CONFIG.

Each test starts real processes (tests/multiworker_worker.py), so they are slow
(marked ``slow``; CI still runs them). The reference for "the same numbers" is one
process with ``MirroredStrategy`` over two logical CPUs: the same two replicas, the
same split of each global batch and the same per-replica noise (the replica id is
folded into every seed), so only the all-reduce differs.
"""
from __future__ import annotations

import json
import pathlib
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO

WORKER = REPO / "tests" / "multiworker_worker.py"
TIMEOUT = 240


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _env(mnist_dir, tf_config=None) -> dict:
    env = {**os.environ, "MNIST_DIR": str(mnist_dir), "PYTHONPATH": str(REPO)}
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    # One inter-/intra-op thread each: three processes share two cores.
    env.update(TF_NUM_INTEROP_THREADS="1", TF_NUM_INTRAOP_THREADS="1")
    return env


def _start_workers(out, mnist_dir, extra=()) -> list[subprocess.Popen]:
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), "--out", str(out), *extra],
                env=_env(mnist_dir, config),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    return procs


def _wait(procs, timeout=TIMEOUT) -> list[str]:
    outputs = []
    for proc in procs:
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in procs:
                if p.poll() is None:
                    p.kill()
            output = proc.communicate()[0]
            pytest.fail(f"a worker timed out:\n{output[-3000:]}")
        outputs.append(output)
    return outputs


def _weights(path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def _logs(path) -> dict:
    with open(path) as f:
        return json.load(f)


def _assert_close(a, b, atol, rtol=0.0):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=atol)


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory):
    """Two workers and the one-process reference, run at once (x, (x, y) and
    (x, y, sample_weight) data, one after the other in each process)."""
    from conftest import data_root

    mnist_dir = data_root() / "mnist"
    if not (mnist_dir / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real MNIST not found under {mnist_dir} (set KERAS_VAE_DATA)")
    out = tmp_path_factory.mktemp("two_workers")
    ref = tmp_path_factory.mktemp("one_process")
    start = time.perf_counter()
    procs = _start_workers(out, mnist_dir, ["--data", "all"])
    single = subprocess.Popen(
        [sys.executable, str(WORKER), "--out", str(ref), "--data", "all", "--single"],
        env=_env(mnist_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    outputs = _wait([*procs, single])
    seconds = time.perf_counter() - start
    for proc, output in zip([*procs, single], outputs):
        assert proc.returncode == 0, output[-4000:]
    return {"out": out, "ref": ref, "mnist_dir": mnist_dir, "seconds": seconds}


@pytest.mark.slow
@pytest.mark.parametrize("data", ["x", "xy", "xyw"])
def test_two_workers_train_like_one_process(two_worker_run, data):
    out, ref = two_worker_run["out"], two_worker_run["ref"]
    w0 = _weights(out / f"weights-{data}-worker0.npz")
    w1 = _weights(out / f"weights-{data}-worker1.npz")
    reference = _weights(ref / f"weights-{data}-single.npz")
    initial = _weights(ref / f"initial-{data}-single.npz")
    # Both workers hold the very same weights ...
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)
    # ... which moved, and equal the one-process run on the same global batches.
    assert max(float(np.abs(a - b).max()) for a, b in zip(w0, initial)) > 1e-3
    _assert_close(w0, reference, atol=2e-5)
    logs0 = _logs(out / f"logs-{data}-worker0.json")
    logs1 = _logs(out / f"logs-{data}-worker1.json")
    logs_ref = _logs(ref / f"logs-{data}-single.json")
    assert logs0["steps"] == logs_ref["steps"] == 16  # 2 epochs of 256 / 32
    for name in ("loss", "elbo", "kl", "reconstruction_loss", "val_loss"):
        np.testing.assert_allclose(logs0["history"][name], logs_ref["history"][name], rtol=1e-4)
        np.testing.assert_allclose(logs1["history"][name], logs_ref["history"][name], rtol=1e-4)
    if data == "x":  # evaluate and predict run once per process
        assert sorted(logs_ref["evaluate"]) == ["elbo", "kl", "loss", "reconstruction_loss"]
        for name, value in logs_ref["evaluate"].items():
            np.testing.assert_allclose(logs0["evaluate"][name], value, rtol=1e-4)
        assert len(logs0["predict"]) == 8
        np.testing.assert_allclose(logs0["predict"], logs_ref["predict"], atol=1e-5)
    # Only the chief wrote the run folder.
    assert sorted(os.listdir(out / f"run-{data}")) == ["vae.keras"]
    assert not (out / f"run-{data}-worker1").exists()


@pytest.mark.slow
def test_a_killed_worker_resumes_to_the_same_weights(two_worker_run, tmp_path):
    mnist_dir = two_worker_run["mnist_dir"]
    backup = tmp_path / "backup"
    # First attempt: worker 1 SIGKILLs itself after step 12 (mid-way through epoch 2);
    # the job is then torn down (the chief is blocked in an all-reduce) and restarted,
    # as a cluster scheduler restarts a failed job.
    procs = _start_workers(tmp_path, mnist_dir, ["--data", "x", "--backup", str(backup), "--kill-after-step", "12"])
    deadline = time.monotonic() + TIMEOUT
    while procs[1].poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert procs[1].returncode == -signal.SIGKILL, procs[1].communicate()[0][-3000:]
    procs[0].kill()
    procs[0].communicate()
    assert not (tmp_path / "weights-x-worker0.npz").exists()
    # Restart: BackupAndRestore brings back the state at the end of epoch 1 (weights,
    # optimizer step and moments); epoch 2 is redone with the same batches and noise.
    procs = _start_workers(tmp_path, mnist_dir, ["--data", "x", "--backup", str(backup)])
    outputs = _wait(procs)
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output[-4000:]
    resumed = _weights(tmp_path / "weights-x-worker0.npz")
    uninterrupted = _weights(two_worker_run["out"] / "weights-x-worker0.npz")
    _assert_close(resumed, uninterrupted, atol=1e-6)
    assert _logs(tmp_path / "logs-x-worker0.json")["steps"] == 16


@pytest.mark.slow
def test_cli_train_under_tf_config_writes_the_run_folder_once(tmp_path):
    """keras-vae train on two workers: the chief writes the run folder (model, export,
    metrics); the other worker only its own scratch folder; both compute the same."""
    from conftest import data_root

    if not (data_root() / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("real MNIST not found (set KERAS_VAE_DATA)")
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    run = tmp_path / "run"
    argv = ["-m", "keras_vae", "train", "--epochs", "1", "--limit", "256", "--hidden-units", "16",
            "--num-samples", "5", "--output", str(run)]
    procs = []
    for index in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = {**_env(data_root() / "mnist", config), "KERAS_VAE_DATA": str(data_root())}
        procs.append(subprocess.Popen([sys.executable, *argv], env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = _wait(procs)
    for proc, output in zip(procs, outputs):
        assert proc.returncode == 0, output[-4000:]
    from keras_vae import distribute

    scratch = distribute.worker_folder(
        str(run), json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}})
    )
    try:
        assert (run / "model.keras").is_file() and (run / "serving" / "1" / "saved_model.pb").is_file()
        assert os.path.commonpath([scratch, str(tmp_path)]) != str(tmp_path)  # not in the run folder
        chief = json.loads((run / "metrics.json").read_text())
        other = json.loads((pathlib.Path(scratch) / "metrics.json").read_text())
        assert chief["test_elbo"] == pytest.approx(other["test_elbo"], rel=1e-5)
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
