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
    monkeypatch.setattr(registry, "_CONFLICTS", {})
    monkeypatch.setattr(registry, "_FROM_PLUGINS", {})


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


def test_a_condition_plugin_is_found_through_its_entry_point_group(clean_registry, monkeypatch, tmp_path):
    """The condition kind has its group, keras_vae.conditions, like the components'."""
    assert registry.ENTRY_POINT_GROUPS["condition"] == "keras_vae.conditions"
    source = "import keras_vae as kv\nclass Plugin(kv.conditions.OneHot):\n    pass\n"
    _fake_plugin(monkeypatch, tmp_path, "condition", "plugin_labels", "fake_condition_pkg", source)
    condition = kv.get("condition", {"name": "plugin_labels", "num_classes": 3})
    assert type(condition).__name__ == "Plugin" and condition.feature_size == 3
    assert "plugin_labels" in kv.list_components("condition")


def test_broken_plugin_warns_and_is_skipped(clean_registry, monkeypatch, tmp_path):
    _fake_plugin(monkeypatch, tmp_path, "prior", "broken", "broken_plugin_pkg", "raise ImportError('no tensorflow_addons')")
    with pytest.warns(RuntimeWarning, match="plugin 'broken'.*failed to load"):
        names = kv.list_components("prior")
    assert "broken" not in names
    with pytest.raises(ValueError, match="installed but failed to load"):
        kv.get("prior", "broken")


def test_a_plugin_cannot_take_a_builtin_name(clean_registry, monkeypatch, tmp_path):
    source = "import keras_vae as kv\nclass Plugin(kv.priors.StandardNormal):\n    pass\n"
    _fake_plugin(monkeypatch, tmp_path, "prior", "standard_normal", "dup_plugin_pkg", source)
    for _ in range(2):  # the same outcome on every scan
        with pytest.warns(RuntimeWarning, match=r"dup_plugin_pkg \(dup_plugin_pkg:Plugin\) claims the prior name 'standard_normal'.*ignored"):
            kv.load_plugins(force=True)
        assert type(kv.get("prior", "standard_normal")) is kv.priors.StandardNormal


def test_get_checks_the_kind_of_what_it_returns():
    with pytest.raises(ValueError, match="A posterior must be Posterior, got Gaussian"):
        kv.get("posterior", kv.likelihoods.Gaussian())
    with pytest.raises(ValueError, match="An? objective must be a keras_vae.objectives.Objective"):
        kv.get("objective", kv.encoders.MLPEncoder())
    serialized = keras.saving.serialize_keras_object(kv.likelihoods.Gaussian())
    with pytest.raises(ValueError, match="A prior must be Prior"):
        kv.get("prior", serialized)


def _plugins(monkeypatch, tmp_path, modules, entry_points):
    """Write plugin modules and announce them through hermetic EntryPoint objects."""
    for module, source in modules.items():
        (tmp_path / f"{module}.py").write_text(source)
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = {}
    for group, name, value in entry_points:
        eps.setdefault(group, []).append(importlib.metadata.EntryPoint(name, value, group))
    monkeypatch.setattr(registry, "_entry_points", lambda group: list(eps.get(group, [])))
    return eps


_PRIOR_PLUGIN = "import keras_vae as kv\nclass Plugin(kv.priors.StandardNormal):\n    pass\n"


@pytest.mark.parametrize("reverse", [False, True])
def test_a_name_two_plugins_claim_is_nobodys_every_time(clean_registry, monkeypatch, tmp_path, reverse):
    eps = _plugins(
        monkeypatch, tmp_path, {"pkg_a": _PRIOR_PLUGIN, "pkg_b": _PRIOR_PLUGIN, "good_pkg": _PRIOR_PLUGIN},
        [("keras_vae.priors", "shared", "pkg_a:Plugin"), ("keras_vae.priors", "shared", "pkg_b:Plugin"),
         ("keras_vae.priors", "good_prior", "good_pkg:Plugin")],
    )
    if reverse:  # the scan order must not matter
        eps["keras_vae.priors"].reverse()
    # Unrelated names (built-in or plugin) and listing are never blocked by the clash.
    with pytest.warns(RuntimeWarning, match="claimed by several plugins"):
        assert "shared" not in kv.list_components("prior")
    assert type(kv.get("prior", "standard_normal")) is kv.priors.StandardNormal
    assert type(kv.get("prior", "good_prior")).__module__ == "good_pkg"
    with pytest.raises(ValueError, match="Unknown prior 'nope'"):
        kv.get("prior", "nope")
    for _ in range(3):
        with pytest.raises(ValueError, match=r"'shared' is claimed by several plugins: pkg_a \(pkg_a:Plugin\) and pkg_b \(pkg_b:Plugin\)"):
            kv.get("prior", "shared")
    with pytest.warns(RuntimeWarning, match="claimed by several plugins"):
        kv.load_plugins(force=True)
    with pytest.raises(ValueError, match="pkg_a .* and pkg_b"):
        kv.get("prior", "shared")


def test_plugins_registering_themselves_on_import_clash_the_same_way(clean_registry, monkeypatch, tmp_path):
    source = (
        "import keras_vae as kv\n"
        "@kv.register('prior', 'shared')\n"
        "class Plugin(kv.priors.StandardNormal):\n    pass\n"
    )
    _plugins(
        monkeypatch, tmp_path, {"self_a": source, "self_b": source},
        [("keras_vae.priors", "shared", "self_a:Plugin"), ("keras_vae.priors", "shared", "self_b:Plugin")],
    )
    with pytest.warns(RuntimeWarning, match="claimed by several plugins"):
        kv.load_plugins()
    with pytest.raises(ValueError, match=r"self_a \(self_a:Plugin\) and self_b \(self_b:Plugin\)"):
        kv.get("prior", "shared")


@pytest.mark.parametrize("body", ["import sys\nsys.exit(3)", "raise SystemExit('bye')", "raise GeneratorExit()"])
def test_system_exit_in_a_plugin_import_is_a_warning(clean_registry, monkeypatch, tmp_path, body):
    _plugins(
        monkeypatch, tmp_path, {"exit_pkg": body, "good_pkg": _PRIOR_PLUGIN},
        [("keras_vae.priors", "exits", "exit_pkg:Plugin"), ("keras_vae.priors", "good_prior", "good_pkg:Plugin")],
    )
    with pytest.warns(RuntimeWarning, match="plugin 'exits'.*failed to load.*(SystemExit|GeneratorExit)"):
        kv.load_plugins()
    assert type(kv.get("prior", "good_prior")).__module__ == "good_pkg"
    with pytest.raises(ValueError, match="installed but failed to load"):
        kv.get("prior", "exits")
