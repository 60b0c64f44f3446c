"""The dSprites-like data: the factor grid, the index mapping and the pixels."""
import numpy as np
import pytest

import keras_vae as kv
from keras_vae.datasets.dsprites import SHAPES, shape_area


@pytest.fixture(scope="module")
def data():
    return kv.datasets.DSprites()


def test_exact_factor_grid(data):
    assert len(data) == 737280 == 3 * 6 * 40 * 32 * 32
    assert data.num_factors == 5
    assert data.factors_num_values == [3, 6, 40, 32, 32]
    assert data.observation_shape == [64, 64, 1]
    np.testing.assert_allclose(data.scales, np.linspace(0.5, 1.0, 6))
    assert data.orientations[0] == 0.0 and np.isclose(data.orientations[-1], 2 * np.pi)
    np.testing.assert_allclose(data.positions, np.linspace(0.0, 1.0, 32))


def test_index_mapping_is_dsprites_own(data):
    # dSprites' latents_sizes are [1 (colour), 3, 6, 40, 32, 32], the last fastest.
    assert data.factors_to_index([[1, 0, 0, 0, 0]]).tolist() == [6 * 40 * 32 * 32]
    assert data.factors_to_index([[0, 0, 0, 0, 1]]).tolist() == [1]
    assert data.index_to_factors([737279]).tolist() == [[2, 5, 39, 31, 31]]
    index = np.random.default_rng(0).integers(0, len(data), 500)
    factors = data.index_to_factors(index)
    np.testing.assert_array_equal(factors, np.stack(np.unravel_index(index, (3, 6, 40, 32, 32)), axis=1))
    np.testing.assert_array_equal(data.factors_to_index(factors), index)
    np.testing.assert_array_equal(data[int(index[0])], data.sample_observations_from_factors(factors[:1])[0])


@pytest.mark.parametrize("shape", range(3))
def test_pixel_area_matches_the_analytic_area(data, shape):
    # A pixel counts when its centre is inside: over positions the count averages
    # to the area (one image is off by up to about half the perimeter in pixels).
    positions = np.array([(x, y) for x in range(32) for y in range(1, 32, 4)])
    for scale in (0, 2, 5):
        for orientation in (0, 7, 13):
            factors = np.column_stack([np.tile([[shape, scale, orientation]], (len(positions), 1)), positions])
            counts = data.sample_observations_from_factors(factors).sum(axis=(1, 2, 3))
            expected = shape_area(SHAPES[shape], data.scales[scale], 64)
            assert abs(counts.mean() - expected) / expected < 0.02, (SHAPES[shape], scale, orientation, counts.mean(), expected)
            assert np.all(np.abs(counts - expected) / expected < 0.3)  # the smallest ellipse: 44 px


def test_pixels_are_binary_and_positions_move_the_shape(data):
    f = np.array([[2, 5, 0, 0, 0], [2, 5, 0, 31, 0], [2, 5, 0, 0, 31]])
    images = data.sample_observations_from_factors(f)
    assert images.dtype == np.float32 and set(np.unique(images)) <= {0.0, 1.0}
    rows, cols = np.arange(64)[:, None], np.arange(64)[None, :]
    centroid = [((im[..., 0] * cols).sum() / im.sum(), (im[..., 0] * rows).sum() / im.sum()) for im in images]
    assert centroid[1][0] > centroid[0][0] + 25 and abs(centroid[1][1] - centroid[0][1]) < 1  # x moves right
    assert centroid[2][1] > centroid[0][1] + 25 and abs(centroid[2][0] - centroid[0][0]) < 1  # y moves down
    # every shape stays inside the image at the corners (its whole area is drawn)
    for shape in range(3):
        for corner in ([0, 0], [31, 31], [0, 31]):
            image = data.sample_observations_from_factors(np.array([[shape, 5, 5, *corner]]))
            assert abs(image.sum() - shape_area(SHAPES[shape], 1.0, 64)) / shape_area(SHAPES[shape], 1.0, 64) < 0.05


def test_sampling_protocol_and_small_variant(data):
    factors = data.sample_factors(1000, np.random.RandomState(0))
    assert factors.shape == (1000, 5) and factors.dtype == np.int64
    assert (factors.min(axis=0) == 0).all() and (factors.max(axis=0) == np.array(data.factors_num_values) - 1).all()
    np.testing.assert_array_equal(factors, data.sample_factors(1000, 0))
    f, x = data.sample(3, np.random.RandomState(1))
    np.testing.assert_array_equal(x, data.sample_observations_from_factors(f, None))
    small = kv.datasets.DSprites.small()
    assert small.observation_shape == [32, 32, 1] and len(small) == 3 * 4 * 10 * 16 * 16
    x, factors = small.load(10, seed=0)
    assert x.shape == (10, 32, 32, 1) and factors.shape == (10, 5)
    assert kv.datasets.DSprites(**small.get_config()).factors_num_values == small.factors_num_values


def test_bad_input_is_refused(data):
    with pytest.raises(ValueError, match="shape \\[num, 5\\]"):
        data.sample_observations_from_factors(np.zeros((2, 4), int))
    with pytest.raises(ValueError, match="must lie in"):
        data.sample_observations_from_factors(np.array([[3, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match="indices must be in"):
        data.index_to_factors([len(data)])
    with pytest.raises(ValueError, match="image_size"):
        kv.datasets.DSprites(image_size=4)
    with pytest.raises(ValueError, match="num must be"):
        data.sample_factors(-1, 0)
