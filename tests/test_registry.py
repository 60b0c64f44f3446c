"""Registry: names, specs, duplicates, and entry-point plugins (hermetic)."""
import importlib.metadata
import sys

import keras
import pytest

import keras_vae as kv
from keras_vae import registry


@pytest.fixture
def clean_registry(monkeypatch):
    """Isolate registrations and plugin state made by a test."""
    monkeypatch.setattr(registry, "_REGISTRY", {k: dict(v) for k, v in registry._REGISTRY.items()})
    monkeypatch.setattr(registry, "_PLUGIN_ERRORS", {})
    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)


def _fake_plugin(monkeypatch, tmp_path, kind, name, module_name, source):
    """Write a plugin module to disk and announce it through an EntryPoint."""
    (tmp_path / f"{module_name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    ep = importlib.metadata.EntryPoint(name=name, value=f"{module_name}:Plugin", group=f"keras_vae.{kind}s")
    groups = {f"keras_vae.{kind}s": [ep]}
    monkeypatch.setattr(registry, "_entry_points", lambda group: groups.get(group, []))


def test_builtins_are_listed():
    listed = kv.list_components()
    assert {"mlp", "conv"} <= set(listed["encoder"]) and {"mlp", "conv"} <= set(listed["decoder"])
    assert "diagonal_gaussian" in listed["posterior"]
    assert {"bernoulli", "gaussian"} <= set(listed["likelihood"])
    assert "standard_normal" in listed["prior"] and "elbo" in listed["objective"]


@pytest.mark.parametrize(
    "spec",
    ["gaussian", {"name": "gaussian", "scale": 0.5}, {"name": "gaussian", "config": {"scale": 0.5}}],
)
def test_get_accepts_names_and_dicts(spec):
    assert isinstance(kv.get("likelihood", spec), kv.likelihoods.Gaussian)


def test_get_accepts_keras_serialized_dicts_and_instances():
    layer = kv.likelihoods.Gaussian(scale=0.25)
    restored = kv.get("likelihood", keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, kv.likelihoods.Gaussian) and restored.scale == 0.25
    assert kv.get("likelihood", layer) is layer
    dense = keras.layers.Dense(3)
    assert kv.get("encoder", dense) is dense


def test_unknown_name_lists_available():
    with pytest.raises(ValueError, match=r"Unknown likelihood 'weibull'.*bernoulli, beta, .*gaussian"):
        kv.get("likelihood", "weibull")
    with pytest.raises(ValueError, match="Unknown component kind"):
        kv.get("flow", "x")
    with pytest.raises(ValueError, match="needs a 'name' key"):
        kv.get("likelihood", {"scale": 1.0})
    with pytest.raises(ValueError, match="Cannot make a prior"):
        kv.get("prior", 3.0)


def test_register_and_duplicate(clean_registry):
    @kv.register("prior", "test_prior")
    class TestPrior(kv.priors.StandardNormal):
        pass

    assert isinstance(kv.get("prior", "test_prior"), TestPrior)
    assert keras.saving.get_registered_object("tests>TestPrior") is TestPrior or (
        keras.saving.get_registered_name(TestPrior).endswith(">TestPrior")
    )
    kv.register("prior", "test_prior")(TestPrior)  # re-registering the same class is fine
    with pytest.raises(ValueError, match="Duplicate prior name 'test_prior'"):

        @kv.register("prior", "test_prior")
        class Other(kv.priors.StandardNormal):
            pass


def test_entry_point_plugin_is_loaded_lazily_and_once(clean_registry, monkeypatch, tmp_path):
    source = (
        "import keras_vae as kv\n"
        "class Plugin(kv.priors.StandardNormal):\n    pass\n"
        "import builtins\n"
        "builtins.KV_TEST_LOADS = getattr(builtins, 'KV_TEST_LOADS', 0) + 1\n"
    )
    _fake_plugin(monkeypatch, tmp_path, "prior", "plugin_prior", "fake_plugin_pkg", source)
    prior = kv.get("prior", "plugin_prior")
    assert type(prior).__name__ == "Plugin"
    assert "plugin_prior" in kv.list_components("prior")
    kv.get("prior", "plugin_prior")
    import builtins

    assert builtins.KV_TEST_LOADS == 1
    del builtins.KV_TEST_LOADS


def test_broken_plugin_warns_and_is_skipped(clean_registry, monkeypatch, tmp_path):
    _fake_plugin(monkeypatch, tmp_path, "prior", "broken", "broken_plugin_pkg", "raise ImportError('no tensorflow_addons')")
    with pytest.warns(RuntimeWarning, match="plugin 'broken'.*failed to load"):
        names = kv.list_components("prior")
    assert "broken" not in names
    with pytest.raises(ValueError, match="installed but failed to load"):
        kv.get("prior", "broken")


def test_plugin_with_a_taken_name_is_an_error(clean_registry, monkeypatch, tmp_path):
    source = "import keras_vae as kv\nclass Plugin(kv.priors.StandardNormal):\n    pass\n"
    _fake_plugin(monkeypatch, tmp_path, "prior", "standard_normal", "dup_plugin_pkg", source)
    with pytest.raises(ValueError, match="Duplicate prior name 'standard_normal'"):
        kv.load_plugins()


def test_get_checks_the_kind_of_what_it_returns():
    with pytest.raises(ValueError, match="A posterior must be Posterior, got Gaussian"):
        kv.get("posterior", kv.likelihoods.Gaussian())
    with pytest.raises(ValueError, match="An? objective must be a callable"):
        kv.get("objective", kv.encoders.MLPEncoder())
    serialized = keras.saving.serialize_keras_object(kv.likelihoods.Gaussian())
    with pytest.raises(ValueError, match="A prior must be Prior"):
        kv.get("prior", serialized)


def test_a_conflicting_plugin_does_not_hide_the_others(clean_registry, monkeypatch, tmp_path):
    source = "import keras_vae as kv\nclass Plugin(kv.priors.StandardNormal):\n    pass\n"
    (tmp_path / "dup_pkg.py").write_text(source)
    (tmp_path / "good_pkg.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = {
        "keras_vae.priors": [
            importlib.metadata.EntryPoint("standard_normal", "dup_pkg:Plugin", "keras_vae.priors"),
            importlib.metadata.EntryPoint("good_prior", "good_pkg:Plugin", "keras_vae.priors"),
        ]
    }
    monkeypatch.setattr(registry, "_entry_points", lambda group: eps.get(group, []))
    with pytest.raises(ValueError, match="Conflicting keras_vae plugins: plugin 'standard_normal'"):
        kv.load_plugins()
    assert type(kv.get("prior", "good_prior")).__name__ == "Plugin"
