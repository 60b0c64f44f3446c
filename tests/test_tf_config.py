"""keras_vae.distribute: reading TF_CONFIG (no TensorFlow, no processes)."""
import json
import os

import pytest

from keras_vae import distribute


def _config(task_type, index, chief=False, workers=2):
    cluster = {"worker": [f"host{i}:2222" for i in range(workers)]}
    if chief:
        cluster["chief"] = ["boss:2222"]
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def test_who_is_chief_follows_tensorflow():
    assert distribute.is_chief(None) and distribute.num_workers(None) == 1
    assert distribute.is_chief(_config("worker", 0))
    assert not distribute.is_chief(_config("worker", 1))
    assert not distribute.is_chief(_config("worker", 0, chief=True))  # a chief exists
    assert distribute.is_chief(_config("chief", 0, chief=True))
    assert distribute.num_workers(_config("chief", 0, chief=True, workers=3)) == 4
    assert distribute.task_name(_config("worker", 1)) == "worker-1"


def test_only_the_chief_writes_the_run_folder(tmp_path):
    run = str(tmp_path / "run")
    assert distribute.worker_folder(run, _config("worker", 0)) == run
    other = distribute.worker_folder(run, _config("worker", 1))
    assert not other.startswith(run)
    assert os.path.basename(other).startswith("run-") and other.endswith("-worker-1")
    assert distribute.worker_folder(run, _config("worker", 1)) == other  # the same after a restart
    assert distribute.worker_folder(str(tmp_path / "b" / "run"), _config("worker", 1)) != other


def test_a_malformed_tf_config_is_named(monkeypatch):
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        distribute.is_chief("{worker")
    with pytest.raises(ValueError, match="TF_CONFIG must be a JSON object with 'cluster'"):
        distribute.is_chief('{"task": {"type": "worker", "index": 0}}')
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.strategy_from_env() is None  # one process: no strategy
    monkeypatch.setenv("TF_CONFIG", _config("worker", 1))
    assert not distribute.is_chief() and os.environ["TF_CONFIG"]
