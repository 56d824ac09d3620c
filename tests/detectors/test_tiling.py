"""Window grids for fixed-input detectors: bounded, covering, never smaller than asked."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors.tiling import clear_of_seams, grid_windows


@given(st.integers(1, 6000), st.integers(1, 6000), st.integers(1, 9), st.integers(50, 600),
       st.sampled_from([0.0, 0.25, 0.4]))
def test_windows_cover_the_image_within_the_bounds(width, height, max_tiles, min_tile, overlap):
    windows = grid_windows(width, height, max_tiles, min_tile, overlap)
    assert len(windows) <= max_tiles and len(windows) != 1
    covered = np.zeros((min(height, 600), min(width, 600)), bool)
    for x0, y0, x1, y1 in windows:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert min(x1 - x0, y1 - y0) >= min_tile
        covered[y0 * covered.shape[0] // height: -(-y1 * covered.shape[0] // height),
                x0 * covered.shape[1] // width: -(-x1 * covered.shape[1] // width)] = True
    assert not windows or covered.all()


def test_full_hd_gets_the_grid_of_smallest_windows():
    assert len(grid_windows(1920, 1080, 6, 300)) == 6
    assert grid_windows(1920, 1080, 6, 300)[0] == (0, 0, 768, 618)
    assert [w[0] for w in grid_windows(1920, 1080, 4, 300)] == [0, 576, 1152]  # three strips
    assert grid_windows(384, 266, 6, 300) == []


def test_boxes_touching_an_inner_seam_are_dropped():
    window = (100, 0, 400, 300)  # its left edge and right edge lie inside a 1000x300 image
    boxes = np.array([[101, 10, 150, 60], [200, 10, 250, 60], [380, 10, 399, 60], [200, 250, 250, 300]], np.float32)
    assert clear_of_seams(boxes, window, 1000, 300).tolist() == [False, True, False, True]


@pytest.mark.parametrize("name", ["ssd_coco", "centerface", "codes"])
@pytest.mark.parametrize("shape", [(1, 1, 3), (10, 3000, 3), (3000, 12, 3)])
def test_windowed_detectors_take_tiny_and_extreme_images(name, shape, registry):
    assert not len(registry.get(name).detect(np.full(shape, 100, np.uint8), 0.3))
