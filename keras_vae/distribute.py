"""Training across machines: ``TF_CONFIG`` and ``MultiWorkerMirroredStrategy``.

For Keras 3 on TensorFlow the multi-machine engine is
``tf.distribute.MultiWorkerMirroredStrategy``, configured by the ``TF_CONFIG``
environment variable (``{"cluster": {"worker": [...]}, "task": {"type": "worker",
"index": 0}}``, what cluster launchers write). ``keras-vae train`` uses these helpers:
with a ``TF_CONFIG`` that names several tasks it trains under the strategy, and only
the chief writes the run folder; the other workers write to a scratch folder of their
own. Nothing here imports TensorFlow until a strategy is made.

Example:
    >>> import json, os
    >>> from keras_vae import distribute
    >>> config = {"cluster": {"worker": ["host0:2222", "host1:2222"]},
    ...           "task": {"type": "worker", "index": 1}}
    >>> distribute.is_chief(json.dumps(config)), distribute.num_workers(json.dumps(config))
    (False, 2)
    >>> distribute.is_chief(None)  # no TF_CONFIG: a single process is its own chief
    True
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile

__all__ = ["tf_config", "num_workers", "is_chief", "task_name", "worker_folder", "strategy_from_env"]


def tf_config(value: str | None = ...) -> dict | None:
    """The parsed ``TF_CONFIG`` (default: from the environment), or None when unset.

    Raises:
        ValueError: it is not a JSON object with a ``cluster`` and a ``task``.
    """
    if value is ...:
        value = os.environ.get("TF_CONFIG")
    if not value:
        return None
    try:
        config = json.loads(value)
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON ({err}): {value[:200]!r}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) or not isinstance(
        config.get("task"), dict
    ):
        raise ValueError(
            "TF_CONFIG must be a JSON object with 'cluster' (e.g. {\"worker\": [\"host:port\", ...]}) "
            f"and 'task' (e.g. {{\"type\": \"worker\", \"index\": 0}}); got {value[:200]!r}."
        )
    task = config["task"]
    kind, index = task.get("type", "worker"), task.get("index", 0)
    members = config["cluster"].get(kind)
    if isinstance(index, bool) or not isinstance(index, int) or not isinstance(members, list) or not (
        0 <= index < len(members)
    ):
        listed = {k: len(v) if isinstance(v, list) else v for k, v in config["cluster"].items()}
        raise ValueError(
            f"TF_CONFIG's task {{'type': {kind!r}, 'index': {index!r}}} is not in its cluster "
            f"(tasks per type: {listed}); the index must be 0..{len(members) - 1 if isinstance(members, list) else '?'} "
            f"of the {kind!r} list."
        )
    return config


def num_workers(value: str | None = ...) -> int:
    """Training tasks (``chief`` + ``worker``) in the cluster; 1 without TF_CONFIG."""
    config = tf_config(value)
    if config is None:
        return 1
    cluster = config["cluster"]
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker")) or 1


def is_chief(value: str | None = ...) -> bool:
    """Whether this process writes the outputs: the ``chief`` task, or worker 0 of a
    cluster without a chief (TensorFlow's rule); True without TF_CONFIG."""
    config = tf_config(value)
    if config is None:
        return True
    task = config["task"]
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0 and "chief" not in config["cluster"]


def task_name(value: str | None = ...) -> str:
    """``"<type>-<index>"`` of this task (``"chief-0"`` without TF_CONFIG)."""
    config = tf_config(value)
    if config is None:
        return "chief-0"
    return f"{config['task'].get('type', 'worker')}-{int(config['task'].get('index', 0))}"


def worker_folder(run_dir: str, value: str | None = ...) -> str:
    """Where this process writes: ``run_dir`` on the chief; on another worker a
    scratch folder of its own that outlives a restart of the job (so its
    ``BackupAndRestore`` state is found again), named after ``run_dir`` and the task."""
    if is_chief(value):
        return run_dir
    digest = hashlib.sha1(os.path.abspath(run_dir).encode()).hexdigest()[:10]
    name = f"{os.path.basename(os.path.normpath(run_dir))}-{digest}-{task_name(value)}"
    return os.path.join(tempfile.gettempdir(), "keras-vae-workers", name)


def strategy_from_env():
    """A ``tf.distribute.MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names more
    than one training task, else None. Make it before other TensorFlow work."""
    if num_workers() < 2:
        return None
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()
