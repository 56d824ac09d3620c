import io

import numpy as np
import pytest
from PIL import Image

from anonymiser.images import ImageError, encode_image, load_image, output_format, write_atomic
from anonymiser.pipeline import anonymise_bytes
from anonymiser.settings import Settings
from tests.anonymiser.test_hostile_inputs import FACES, noise


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


# --- inputs beyond the hostile set (tests/anonymiser/test_hostile_inputs.py): many pictures in one file, HEIC,
# a full-size EXIF thumbnail, a panorama ------------------------------------------------------------------

NO_DETECTION = Settings.parse(kinds=[])


def pictures(count: int) -> list[Image.Image]:
    """Distinct 64x48 pictures of 16x16 blocks: lossy codecs (JPEG, HEVC) keep them close, unlike noise."""
    return [Image.fromarray(noise(4, 3, seed=s)).resize((64, 48), Image.Resampling.NEAREST) for s in range(count)]


def saved(first: Image.Image, fmt: str, *rest: Image.Image, **options) -> bytes:
    buf = io.BytesIO()
    first.save(buf, fmt, save_all=bool(rest), append_images=list(rest), **options)
    return buf.getvalue()


def test_a_multi_page_tiff_gives_its_first_page_and_says_so():
    pages = pictures(3)
    outcome = anonymise_bytes(saved(*pages[:1], "TIFF", *pages[1:]), NO_DETECTION)
    assert outcome.extension == "tiff"
    out = Image.open(io.BytesIO(outcome.data))
    assert getattr(out, "n_frames", 1) == 1 and (np.asarray(out) == np.asarray(pages[0])).all()
    assert "multi-page TIFF with 3 pages: only the first page is anonymised and written" in outcome.report["notes"]


def test_a_palette_gif_keeps_its_exact_colours_as_png():
    gif = pictures(1)[0].convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    outcome = anonymise_bytes(saved(gif, "GIF"), NO_DETECTION)
    assert outcome.extension == "png" and not outcome.report["notes"]  # one frame: nothing left out
    assert (np.asarray(Image.open(io.BytesIO(outcome.data))) == np.asarray(gif.convert("RGB"))).all()


def test_a_jpeg_holding_a_second_picture_gives_one_jpeg():
    """MPO: phones store a preview, depth map or stereo pair after the photo; none of it may be written."""
    main, hidden = pictures(2)
    data = saved(main, "MPO", hidden, quality=95)
    assert Image.open(io.BytesIO(data)).format == "MPO" and data.count(b"\xff\xd8\xff") == 2
    outcome = anonymise_bytes(data, NO_DETECTION)
    assert outcome.extension == "jpg" and outcome.data.count(b"\xff\xd8\xff") == 1
    assert Image.open(io.BytesIO(outcome.data)).format == "JPEG"
    assert np.abs(outcome.image.pixels.astype(int) - np.asarray(main)).mean() < 4  # the main photo, not the other
    assert outcome.report["notes"] == ["the file holds 2 pictures (previews, depth maps or a burst): only the main "
                                       "photo is anonymised and written"]


def test_heic_is_decoded_oriented_stripped_and_written_as_jpeg():
    from tests.anonymiser.test_hostile_inputs import assert_no_metadata, exif_block, thumbnail

    stored = pictures(1)[0]
    data = saved(stored, "HEIF", quality=95, exif=exif_block(6, thumbnail()))  # rotate 90 clockwise, GPS, make
    outcome = anonymise_bytes(data, NO_DETECTION)
    assert outcome.extension == "jpg"
    assert outcome.report["metadata_removed"]["gps"] == "48.85833, 2.29444"
    out = assert_no_metadata(outcome.data)
    assert out.size == (48, 64)  # libheif applied the rotation; it is not applied twice
    expected = np.rot90(np.asarray(stored), -1).astype(int)
    assert np.abs(np.asarray(out).astype(int) - expected).mean() < 20  # HEVC then JPEG, on noise


def test_a_heic_with_several_pictures_gives_its_primary_one():
    first, primary = pictures(2)
    data = saved(first, "HEIF", primary, quality=95, primary_index=1)
    loaded = load_image(data)
    assert np.abs(loaded.pixels.astype(int) - np.asarray(primary)).mean() < 20
    assert np.abs(loaded.pixels.astype(int) - np.asarray(first)).mean() > 60
    assert loaded.notes == ["the file holds 2 pictures (previews, depth maps or a burst): only the main photo is "
                            "anonymised and written"]


def test_a_64_kb_exif_thumbnail_of_the_unblurred_photo_never_reaches_the_output(eval_dir):
    """The camera's thumbnail shows the faces; only the re-encoded, anonymised pixels may leave."""
    from tests.anonymiser.test_hostile_inputs import exif_block

    photo = Image.open(eval_dir / "images" / "mpl_grace_hopper.jpg").convert("RGB")
    thumb = next(t for t in (saved(photo, "JPEG", quality=q) for q in range(95, 30, -5)) if len(t) < 64_000)
    assert len(thumb) > 40_000  # a large, detailed thumbnail
    data = saved(photo, "JPEG", quality=90, exif=exif_block(1, thumb))
    assert thumb in data
    outcome = anonymise_bytes(data, FACES)
    assert outcome.report["metadata_removed"]["thumbnail"] and outcome.detection.selected.any()
    assert outcome.data.count(b"\xff\xd8\xff") == 1 and b"Exif\0\0" not in outcome.data
    assert thumb[1000:1064] not in outcome.data  # no piece of the thumbnail's entropy-coded data either


def test_a_30000_by_200_panorama_is_anonymised_at_full_size():
    """Detectors resize to their input: a 150:1 strip must neither crash them nor be shrunk to nothing."""
    outcome = anonymise_bytes(saved(Image.fromarray(noise(30_000, 200)), "JPEG", quality=80),
                              Settings.parse("faces,plates"))
    assert outcome.output.shape == (200, 30_000, 3)
    assert Image.open(io.BytesIO(outcome.data)).size == (30_000, 200)
