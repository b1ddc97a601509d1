import numpy as np
import pytest

from srraw.cfa import LAYOUTS, channel_offsets, layout_from_rawpy, mosaic_from_rgb, pack, unpack


@pytest.mark.parametrize("cfa", LAYOUTS)
def test_pack_unpack_round_trip_is_exact(cfa):
    rng = np.random.default_rng(0)
    mosaic = rng.integers(0, 16384, size=(64, 96), dtype=np.uint16)
    black = (512, 510, 514, 509)
    packed = pack(mosaic, cfa, black, 16383)
    assert packed.shape == (32, 48, 4)
    assert packed.dtype == np.float32
    np.testing.assert_array_equal(unpack(packed, cfa, black, 16383), mosaic)


@pytest.mark.parametrize("cfa", LAYOUTS)
def test_pack_puts_colours_in_canonical_order(cfa):
    # A flat colour through the CFA must come out as R, G, B, G in channels 0..3.
    rgb = np.empty((8, 8, 3), dtype=np.uint16)
    rgb[...] = (3000, 2000, 1000)
    packed = pack(mosaic_from_rgb(rgb, cfa), cfa, 0, 4000)
    np.testing.assert_allclose(packed[0, 0], [0.75, 0.5, 0.25, 0.5])


def test_g1_is_the_green_on_the_red_row():
    for cfa in LAYOUTS:
        (r_row, _), (g1_row, _), (b_row, _), (g2_row, _) = channel_offsets(cfa)
        assert g1_row == r_row and g2_row == b_row, cfa


def test_black_and_white_scale_to_unit_range():
    mosaic = np.full((4, 4), 512, dtype=np.uint16)
    mosaic[0::2, 0::2] = 16383
    packed = pack(mosaic, "RGGB", 512, 16383)
    assert packed[..., 0].max() == 1.0
    assert packed[..., 1:].max() == 0.0


def test_clip_keeps_noise_below_black_out_of_the_network_input():
    mosaic = np.full((2, 2), 500, dtype=np.uint16)
    assert pack(mosaic, "RGGB", 512, 16383).min() < 0
    assert pack(mosaic, "RGGB", 512, 16383, clip=True).min() == 0


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ([[0, 1], [3, 2]], "RGGB"),
        ([[2, 3], [1, 0]], "BGGR"),
        ([[1, 0], [2, 3]], "GRBG"),
        ([[3, 2], [0, 1]], "GBRG"),
    ],
)
def test_layout_from_rawpy(pattern, expected):
    assert layout_from_rawpy(np.array(pattern), b"RGBG") == expected


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="unknown CFA layout"):
        pack(np.zeros((2, 2), np.uint16), "RGBW")
    with pytest.raises(ValueError, match="white level"):
        pack(np.zeros((2, 2), np.uint16), "RGGB", 600, 512)
