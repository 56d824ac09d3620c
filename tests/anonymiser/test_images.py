import io

import numpy as np
import pytest
from PIL import Image

from anonymiser.images import ImageError, encode_image, load_image, output_format, write_atomic


def jpeg_with_gps() -> bytes:
    im = Image.new("RGB", (64, 48), (200, 100, 50))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0112] = 6  # orientation: rotate 90
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, comment=b"secret note")
    return buf.getvalue()


def test_metadata_is_reported_and_orientation_applied():
    loaded = load_image(jpeg_with_gps())
    found = loaded.metadata_found
    assert found["camera_make"] == "SpyCam"
    assert found["gps"].startswith("48.8")
    assert found["comment"]
    assert loaded.pixels.shape == (64, 48, 3)  # rotated


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP"])
def test_outputs_carry_no_metadata(fmt):
    loaded = load_image(jpeg_with_gps())
    data = encode_image(loaded.pixels, fmt)
    out = Image.open(io.BytesIO(data))
    exif = out.getexif()  # TIFF keeps its structural tags (size, compression): no personal ones
    assert 0x010F not in exif and 0x0112 not in exif and not exif.get_ifd(0x8825)
    assert "comment" not in out.info and "exif" not in out.info and "xmp" not in out.info
    assert out.size == (48, 64)


def test_alpha_and_grey_survive():
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 3] = 128
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, "PNG")
    loaded = load_image(buf.getvalue())
    assert loaded.pixels.shape == (10, 12, 4) and (loaded.pixels[..., 3] == 128).all()
    buf = io.BytesIO()
    Image.new("L", (5, 5), 9).save(buf, "PNG")
    grey = load_image(buf.getvalue())
    assert grey.grey
    assert Image.open(io.BytesIO(encode_image(grey.pixels, "PNG", grey=True))).mode == "L"


def test_formats():
    assert output_format("same", "GIF") == "PNG"
    assert output_format("same", "JPEG") == "JPEG"
    assert output_format("jpg", "PNG") == "JPEG"
    with pytest.raises(ImageError, match="unknown output format"):
        output_format("heic", "PNG")


def test_text_file_is_refused_clearly():
    with pytest.raises(ImageError, match="text file"):
        load_image(b"hello, this is not a picture\n")


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "a.png"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["a.png"]
