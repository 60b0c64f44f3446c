"""Count and level models' pictures are drawn on a range fixed for the whole figure
(keras_vae.plotting.display_range): the same count is the same grey in two figures of
different batches, and a colour bar says which count is which grey."""
import numpy as np
import pytest

import keras_vae as kv
from keras_vae import plotting
from keras_vae.plotting import display_range

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")


def _vae(likelihood, input_shape=(8, 8, 1)):
    return kv.VAE(encoder=kv.encoders.MLPEncoder([8]), decoder=kv.decoders.MLPDecoder([8]),
                  latent_dim=2, input_shape=input_shape, likelihood=likelihood, seed=0)


@pytest.fixture(scope="module")
def poisson_vae():
    return _vae("poisson")


def _batches():
    """Two batches of 8x8 count images that share their first image (all 7s) and
    differ elsewhere: the second holds a count of 300."""
    rng = np.random.default_rng(0)
    a = rng.poisson(2.0, size=(4, 8, 8, 1))
    b = rng.poisson(30.0, size=(4, 8, 8, 1))
    b[2, 3, 3, 0] = 300
    a[0] = b[0] = 7
    return a, b


def _grey(path, x, y):
    with PIL.open(path) as image:
        return int(np.asarray(image.convert("L"))[y, x])


def test_sample_grids_of_two_batches_give_a_count_one_grey(tmp_path):
    a, b = _batches()
    greys, minmax = [], []
    for name, batch in (("a", a), ("b", b)):
        fig = plotting.sample_grid(batch, n=4, ncols=2, value_range=(0, 20), path=tmp_path / f"{name}.png")
        assert fig.axes[-1].get_ylabel() == "value"  # the colour bar
        # 2 x 2 tiles of 8 pixels + a 1-pixel gap = 17 pixels, drawn 16 x 16 each: the
        # first tile covers screen pixels 0..127; its centre is (64, 64).
        greys.append(_grey(tmp_path / f"{name}.png", 64, 64))
        plotting.sample_grid(batch, n=4, ncols=2, path=tmp_path / f"{name}_minmax.png")
        minmax.append(_grey(tmp_path / f"{name}_minmax.png", 64, 64))
    assert greys[0] == greys[1]
    assert abs(greys[0] - 255 * 7 / 20) <= 1  # 7 of 0..20
    assert abs(minmax[0] - minmax[1]) > 50  # what per-batch min-max scaling did


def test_reconstructions_of_a_count_model_share_the_training_range(poisson_vae, tmp_path):
    a, b = _batches()
    x_train = np.concatenate([a, b])
    value_range = plotting.value_range_for(poisson_vae, x_train)
    assert value_range == plotting.count_range(x_train) == (0.0, float(np.quantile(x_train, 0.99)))
    greys = []
    for name, batch in (("a", a), ("b", b)):
        fig = plotting.reconstruction_grid(poisson_vae, batch, n=4, ncols=2, scale=4,
                                           value_range=value_range, path=tmp_path / f"{name}.png")
        bar = fig.axes[-1]
        assert bar.get_ylabel() == "count" and bar.get_ylim() == pytest.approx(value_range)
        # The original panel's first tile: 8 pixels drawn 4 x 4 below a 0.3-inch title.
        greys.append(_grey(tmp_path / f"{name}.png", 16, 30 + 16))
    assert greys[0] == greys[1]
    assert abs(greys[0] - 255 * 7 / value_range[1]) <= 1


@pytest.mark.parametrize("likelihood", ["poisson", "negative_binomial", "zero_inflated_negative_binomial"])
def test_count_models_are_drawn_with_a_count_colour_bar(likelihood, tmp_path):
    vae = _vae(likelihood)
    assert plotting.is_count_model(vae)
    with pytest.raises(ValueError, match="value_range_for"):
        plotting.value_range_for(vae)  # a count range needs the training counts
    # Without a range, the counts drawn set it (the 99th percentile), and the bar says so.
    fig = plotting.sample_grid(vae, n=4, seed=0)
    assert fig.axes[-1].get_ylabel().startswith("count (0 to the 99th percentile")
    fig = plotting.sample_grid(vae, n=4, seed=0, value_range=(0, 50))
    assert fig.axes[-1].get_ylabel() == "count" and fig.axes[-1].get_ylim() == (0, 50)


def test_level_models_are_drawn_on_their_levels_without_being_told():
    vae = _vae({"name": "categorical", "num_values": 16}, input_shape=(4, 4, 1))
    assert plotting.value_range_for(vae) == (0.0, 15.0) and not plotting.is_count_model(vae)
    fig = plotting.sample_grid(vae, n=4, seed=0)
    assert fig.axes[-1].get_ylabel() == "level" and fig.axes[-1].get_ylim() == (0, 15)


def test_manifold_of_a_count_model_gets_a_colour_bar(poisson_vae):
    plain = plotting.manifold(_vae("bernoulli"), n=3)
    counts = plotting.manifold(poisson_vae, n=3, value_range=(0, 9))
    assert len(plain.axes) == 1 and len(counts.axes) == 2
    widths = plain.get_figwidth(), counts.get_figwidth()
    assert widths[1] - widths[0] == pytest.approx(display_range.COLORBAR_WIDTH)
    assert counts.axes[1].get_ylabel() == "count"


def test_images_in_zero_one_keep_the_plain_map():
    bernoulli = _vae("bernoulli")
    assert plotting.value_range_for(bernoulli) is None and not plotting.is_count_model(bernoulli)
    assert len(plotting.sample_grid(bernoulli, n=4).axes) == 1  # no colour bar


@pytest.mark.parametrize("value_range", [(5, 5), (3, 1), (0, float("nan")), (0,), "ab", (True, 3), None])
def test_a_bad_value_range_is_refused_before_drawing(value_range, poisson_vae, tmp_path):
    if value_range is None:  # the valid default, for contrast
        plotting.sample_grid(np.ones((4, 8, 8)), n=4, path=tmp_path / "ok.png")
        assert (tmp_path / "ok.png").exists()
        return
    for draw in (
        lambda: plotting.sample_grid(np.ones((4, 8, 8)), n=4, value_range=value_range, path=tmp_path / "s.png"),
        lambda: plotting.reconstruction_grid(poisson_vae, np.ones((4, 8, 8, 1)), n=4,
                                             value_range=value_range, path=tmp_path / "r.png"),
        lambda: plotting.manifold(poisson_vae, n=3, value_range=value_range, path=tmp_path / "m.png"),
    ):
        with pytest.raises(ValueError, match="value_range must be two finite numbers"):
            draw()
    assert list(tmp_path.iterdir()) == []


def test_count_range_checks_its_input():
    assert plotting.count_range(np.arange(101)) == (0.0, 99.0)
    assert plotting.count_range([[0, 0], [0, 0]]) == (0.0, 1.0)  # at least 1
    with pytest.raises(ValueError, match="counts >= 0"):
        plotting.count_range(np.array([-1.0, 2.0]))
    with pytest.raises(ValueError, match="quantile"):
        plotting.count_range(np.arange(5), quantile=0)
    with pytest.raises(ValueError, match="finite count"):
        plotting.count_range(np.array([np.nan]))


def test_to_display_range_on_a_fixed_range_is_linear_and_clipped():
    values = np.array([-3.0, 0.0, 2.5, 10.0, 11.0, np.nan, np.inf])
    np.testing.assert_allclose(plotting.to_display_range(values, value_range=(0, 10)),
                               [0.0, 0.0, 0.25, 1.0, 1.0, 0.0, 1.0])


def test_samples_figure_passes_the_range_on():
    a, _ = _batches()
    fig = plotting.samples_figure(a[..., 0], value_range=(0, 20))  # (n, 8, 8) count images
    assert fig.axes[-1].get_ylabel() == "value" and fig.axes[-1].get_ylim() == (0, 20)
    assert len(plotting.samples_figure(a[..., 0] / 300.0).axes) == 1  # in [0, 1]: no bar


def test_the_sample_grid_callback_keeps_one_range_for_every_epoch(poisson_vae):
    """A count model's grids: the range of the first grid is kept, so the same count
    is the same grey in every epoch's grid; a given range is used as is."""
    from keras_vae.callbacks import SampleGridCallback

    grids = SampleGridCallback(directory=None, log_dir="unused", n=4)
    grids.set_model(poisson_vae)
    grids.make_grid()
    first = grids.value_range
    assert first is not None and first[0] == 0.0
    grids.make_grid()
    assert grids.value_range == first  # not recomputed from the second grid
    fixed = SampleGridCallback(directory=None, log_dir="unused", n=4, value_range=(0, 1000))
    fixed.set_model(poisson_vae)
    assert int(fixed.make_grid().max()) < 255 * 0.5 and fixed.value_range == (0.0, 1000.0)
    with pytest.raises(ValueError):
        SampleGridCallback(directory=None, log_dir="unused", value_range=(5, 5))
    # A model of k levels: (0, k - 1) without being told.
    levels = _vae("categorical")
    grids = SampleGridCallback(directory=None, log_dir="unused", n=4)
    grids.set_model(levels)
    grids.make_grid()
    assert grids.value_range == (0.0, 255.0)
