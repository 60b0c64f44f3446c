"""keras_vae.plotting: grids, figures and the PNGs they save."""
import sys

import keras
import numpy as np
import pytest

import keras_vae as kv
from keras_vae import plotting

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("matplotlib")


def _vae(latent_dim=2, input_shape=(28, 28, 1), likelihood="bernoulli"):
    return kv.VAE(
        encoder=kv.encoders.MLPEncoder([8]),
        decoder=kv.decoders.MLPDecoder([8]),
        latent_dim=latent_dim,
        input_shape=input_shape,
        likelihood=likelihood,
        seed=0,
    )


@pytest.fixture(scope="module")
def vae():
    return _vae()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(size=(40, 28, 28, 1)).astype("float32")


def check_png(path, fig):
    """The PNG exists, has the figure's pixel size and is not a blank canvas."""
    assert path.is_file()
    with PIL.open(path) as image:
        assert image.format == "PNG"
        expected = tuple(int(round(v)) for v in fig.get_size_inches() * fig.dpi)
        assert image.size == expected
        pixels = np.asarray(image.convert("L"), dtype=np.float32)
    # Not a blank canvas: more than background and one colour, with real contrast.
    assert len(np.unique(pixels)) > 4 and pixels.std() > 1.0, "the image is blank"
    return pixels


# ------------------------------------------------------------ images_to_grid
@pytest.mark.parametrize(
    "shape, expected",
    [
        ((10, 28, 28, 1), (3 * 28 + 2, 4 * 28 + 3)),
        ((10, 28, 28), (3 * 28 + 2, 4 * 28 + 3)),
        ((10, 784), (3 * 28 + 2, 4 * 28 + 3)),
        ((10, 8, 8, 3), (3 * 8 + 2, 4 * 8 + 3, 3)),
        ((10, 8, 8, 4), (3 * 8 + 2, 4 * 8 + 3, 3)),
        ((10, 192), (3 * 8 + 2, 4 * 8 + 3, 3)),
    ],
)
def test_images_to_grid_shapes(shape, expected):
    assert plotting.images_to_grid(np.zeros(shape), ncols=4).shape == expected


def test_images_to_grid_places_tiles_and_pads():
    x = np.stack([np.full((2, 3), i, np.float32) for i in range(5)])
    grid = plotting.images_to_grid(x, ncols=3, padding=1, pad_value=-1)
    assert grid.shape == (2 * 2 + 1, 3 * 3 + 2)
    np.testing.assert_array_equal(grid[0:2, 0:3], 0)
    np.testing.assert_array_equal(grid[0:2, 4:7], 1)
    np.testing.assert_array_equal(grid[3:5, 4:7], 4)
    np.testing.assert_array_equal(grid[2], -1)  # padding row
    np.testing.assert_array_equal(grid[3:5, 8:11], -1)  # the unused sixth tile
    assert plotting.images_to_grid(x, padding=0).shape == (4, 9)  # ncols = ceil(sqrt(5))


def test_images_to_grid_rejects_non_images():
    with pytest.raises(ValueError, match="square"):
        plotting.images_to_grid(np.zeros((4, 10)), ncols=2)
    with pytest.raises(ValueError, match="ncols"):
        plotting.images_to_grid(np.zeros((4, 4, 4)), ncols=0)
    assert plotting.as_images(np.zeros((3, 10))) is None


def test_small_image_grids_are_drawn_readably(tmp_path):
    from keras_vae.plotting import figures

    tiny = figures._show_grid(np.random.default_rng(0).uniform(size=(35, 35)))  # an 8x8 digit grid
    width, height = (tiny.get_size_inches() * tiny.dpi).round().astype(int)
    assert width >= figures.MIN_GRID_WIDTH and width == height and width % 35 == 0
    big = figures._show_grid(np.zeros((400, 400)))
    assert int(round(big.get_size_inches()[0] * big.dpi)) == 800  # 2 x 2 as before


def test_display_range():
    np.testing.assert_allclose(plotting.to_display_range(np.array([0.2, 0.8])), [0.2, 0.8])
    np.testing.assert_allclose(plotting.to_display_range(np.array([-1.0, 0.0, 3.0])), [0, 0.25, 1])


# ------------------------------------------------------------------- figures
def test_sample_grid_from_vae_is_reproducible(vae, tmp_path):
    fig = plotting.sample_grid(vae, n=16, seed=3, path=tmp_path / "a.png")
    first = check_png(tmp_path / "a.png", fig)
    # 4 x 4 tiles of 28 pixels with 1-pixel gaps (115 pixels), each pixel drawn 3 x 3: a
    # grid narrower than MIN_GRID_WIDTH (320) gets larger pixels, at least 2 x 2.
    assert first.shape == (3 * (4 * 28 + 3),) * 2
    plotting.sample_grid(vae, n=16, seed=3, path=tmp_path / "b.png")
    second = np.asarray(PIL.open(tmp_path / "b.png").convert("L"), dtype=np.float32)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "shape", [(20, 28, 28, 1), (20, 28, 28), (20, 12, 12, 3), (20, 64), (20, 7)]
)
def test_sample_grid_from_arrays(shape, tmp_path):
    x = np.random.default_rng(1).uniform(size=shape).astype("float32")
    fig = plotting.sample_grid(x, n=9, path=tmp_path / "g.png")
    check_png(tmp_path / "g.png", fig)


def test_sample_grid_rgb_keeps_colour(tmp_path):
    x = np.zeros((4, 8, 8, 3), np.float32)
    x[..., 0] = 1.0  # pure red
    plotting.sample_grid(x, n=4, path=tmp_path / "rgb.png")
    pixels = np.asarray(PIL.open(tmp_path / "rgb.png").convert("RGB"))
    assert (pixels[..., 0] > 200).mean() > 0.5 and (pixels[..., 1] < 50).mean() > 0.5


def test_reconstruction_grid(vae, images, tmp_path):
    fig = plotting.reconstruction_grid(vae, images, n=16, path=tmp_path / "r.png")
    pixels = check_png(tmp_path / "r.png", fig)
    half = pixels.shape[1] // 2
    left, right = pixels[:, :half], pixels[:, pixels.shape[1] - half :]
    assert not np.allclose(left, right)  # originals and reconstructions both drawn


def test_reconstruction_grid_flat_data(tmp_path):
    vae = _vae(latent_dim=2, input_shape=(5,), likelihood="gaussian")
    x = np.random.default_rng(0).normal(size=(8, 5)).astype("float32")
    fig = plotting.reconstruction_grid(vae, x, n=6, path=tmp_path / "flat.png")
    check_png(tmp_path / "flat.png", fig)


@pytest.mark.parametrize("latent_dim", [1, 2, 5])
@pytest.mark.parametrize("labels", ["int", "float", None])
def test_latent_scatter(latent_dim, labels, images, tmp_path):
    vae = _vae(latent_dim=latent_dim)
    y = {
        "int": np.arange(len(images)) % 10,
        "float": np.linspace(0, 1, len(images)),
        None: None,
    }[labels]
    fig = plotting.latent_scatter(vae, images, y, path=tmp_path / "z.png")
    check_png(tmp_path / "z.png", fig)


def test_latent_scatter_label_length_mismatch(vae, images):
    with pytest.raises(ValueError, match="labels"):
        plotting.latent_scatter(vae, images, np.zeros(3))


def test_pca_finds_the_main_axis():
    rng = np.random.default_rng(0)
    direction = np.array([3.0, 4.0, 0.0]) / 5.0
    z = rng.normal(size=(500, 1)) * 10 * direction + rng.normal(size=(500, 3)) * 0.1
    proj, ratio = plotting.figures._pca_2d(z)
    assert proj.shape == (500, 2)
    assert ratio[0] > 0.99
    first_axis = np.linalg.lstsq(proj[:, :1], z - z.mean(0), rcond=None)[0][0]
    np.testing.assert_allclose(np.abs(first_axis), np.abs(direction), atol=0.01)


def test_manifold(vae, tmp_path):
    fig = plotting.manifold(vae, n=6, span=2.0, path=tmp_path / "m.png")
    check_png(tmp_path / "m.png", fig)


def test_manifold_needs_two_latent_dims(images):
    with pytest.raises(ValueError, match="latent_dim == 2"):
        plotting.manifold(_vae(latent_dim=3))


def test_kl_per_dimension_plot(tmp_path):
    fig = plotting.kl_per_dimension_plot(
        np.array([2.0, 0.0, 0.5, 1e-4]), path=tmp_path / "kl.png", threshold=0.01
    )
    check_png(tmp_path / "kl.png", fig)
    with pytest.raises(ValueError):
        plotting.kl_per_dimension_plot([])


def test_training_curves_from_history_dict_and_csv(vae, images, tmp_path):
    model = _vae()
    model.compile(optimizer="adam")
    csv_path = tmp_path / "history.csv"
    history = model.fit(
        images,
        epochs=2,
        batch_size=20,
        validation_data=(images,),
        verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(csv_path))],
    )
    for i, source in enumerate([history, history.history, str(csv_path)]):
        fig = plotting.training_curves(source, path=tmp_path / f"curves{i}.png")
        check_png(tmp_path / f"curves{i}.png", fig)
    with pytest.raises(ValueError):
        plotting.training_curves(42)


def test_missing_matplotlib_names_the_extra(monkeypatch, vae):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install keras-vae\[plots\]"):
        plotting.sample_grid(vae, n=4)
    # images_to_grid needs numpy only.
    assert plotting.images_to_grid(np.zeros((4, 2, 2)), ncols=2).shape == (5, 5)


def test_figures_do_not_touch_pyplot(vae, tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    plotting.sample_grid(vae, n=4, path=tmp_path / "s.png")
    assert matplotlib.get_backend() == backend


def test_kl_per_dimension_plot_marks_the_groups_of_a_hierarchical_model(tmp_path):
    fig = plotting.kl_per_dimension_plot(
        [np.array([2.0, 0.0, 1.0]), np.array([0.5, 0.0])], path=tmp_path / "kl.png", threshold=0.01
    )
    check_png(tmp_path / "kl.png", fig)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == ["0.01 nats", "z1: 3 dims, 3.00 nats", "z2: 2 dims, 0.50 nats"]
    colours = {tuple(bar.get_facecolor()) for bar in ax.patches}
    assert len(colours) == 2  # one colour per group
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [2.5]
    assert "total 3.50 nats" in ax.get_title()
    # plain lists (as read back from metrics.json), per group and flat
    fig = plotting.kl_per_dimension_plot([[2.0, 0.0, 1.0], [0.5, 0.0]])
    assert len(fig.axes[0].get_legend().get_texts()) == 2
    assert "total 3.50 nats" in plotting.kl_per_dimension_plot([2.0, 0.0, 1.0, 0.5, 0.0]).axes[0].get_title()


def _conditioned_vae():
    return kv.VAE("mlp", "mlp", latent_dim=2, input_shape=(8, 8, 1), seed=0,
                  condition={"name": "one_hot", "num_classes": 3})


def _pixels(fig):
    return np.asarray(fig.axes[0].images[0].get_array())


def test_the_plotting_helpers_take_a_conditioned_models_condition(tmp_path):
    vae = _conditioned_vae()
    x = np.random.default_rng(0).uniform(size=(6, 8, 8, 1)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1, 2])
    # samples and the 2-D manifold at one condition for all: different per label
    grids = [_pixels(plotting.sample_grid(vae, n=4, seed=0, condition=k)) for k in (0, 1)]
    assert not np.allclose(grids[0], grids[1])
    np.testing.assert_array_equal(grids[0], _pixels(plotting.sample_grid(vae, n=4, seed=0, condition=np.zeros(4, int))))
    cells = [_pixels(plotting.manifold(vae, n=3, condition=k)) for k in (0, 2)]
    assert not np.allclose(cells[0], cells[1])
    # the scatter shows the means of q(z | x, c), each example with its own condition
    fig = plotting.latent_scatter(vae, x, labels=labels, condition=labels, path=tmp_path / "z.png")
    check_png(tmp_path / "z.png", fig)
    shown = np.concatenate([c.get_offsets() for c in fig.axes[0].collections])
    expected = np.asarray(vae.encode(x, condition=labels))
    order = np.concatenate([np.flatnonzero(labels == k) for k in (0, 1, 2)])
    np.testing.assert_allclose(shown, expected[order], rtol=1e-5, atol=1e-6)
    fig = plotting.reconstruction_grid(vae, x, n=4, condition=labels)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["original", "reconstruction"]


@pytest.mark.parametrize("call,message", [
    (lambda vae, x: plotting.sample_grid(vae, n=4, condition=[0, 1]), "condition"),
    (lambda vae, x: plotting.latent_scatter(vae, x, condition=[0, 1, 5, 0, 1, 2]), "condition"),
    (lambda vae, x: plotting.manifold(vae, n=3, condition=[[0, 1]]), "condition"),
    (lambda vae, x: plotting.sample_grid(x, n=4, condition=0), "only with a model"),
    (lambda vae, x: plotting.sample_grid(_vae(input_shape=(8, 8, 1)), n=4, condition=0), "takes none"),
])
def test_a_bad_condition_for_a_plot_is_refused_before_anything_is_drawn(call, message, monkeypatch):
    from keras_vae.plotting import grids, latent

    drawn = []
    for module in (grids, latent):
        monkeypatch.setattr(module, "_figure", lambda *a, **k: drawn.append(a))
    vae = _conditioned_vae()
    x = np.random.default_rng(0).uniform(size=(6, 8, 8, 1)).astype("float32")
    with pytest.raises(ValueError, match=message):
        call(vae, x)
    assert drawn == []
