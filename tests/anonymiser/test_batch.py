import io
import json
import zipfile

import numpy as np
from PIL import Image

from anonymiser.batch import anonymise_to_zip, output_name
from anonymiser.settings import Settings


def test_output_names_keep_the_stem_and_never_clash():
    taken = {"a-anonymised.jpg"}
    assert output_name("dir/a.jpg", "jpg") == "a-anonymised.jpg"
    assert output_name("a.jpg", "jpg", taken) == "a-anonymised-2.jpg"
    assert output_name("", "png") == "image-anonymised.png"


def test_a_batch_zips_each_result_with_its_report_and_names_the_failures(tmp_path, eval_dir, exif_photo, registry):
    other = tmp_path / "copy" / exif_photo.name  # same name as another input: must not overwrite it
    other.parent.mkdir()
    other.write_bytes((eval_dir / "images" / "faceapi_sample1.jpg").read_bytes())
    broken = tmp_path / "notes.png"
    broken.write_text("not an image")
    seen = []
    items = anonymise_to_zip([exif_photo, other, broken], tmp_path / "out.zip", Settings.parse(["faces"]), registry,
                             lambda done, total, name: seen.append((done, total, name)))
    assert seen == [(1, 3, exif_photo.name), (2, 3, other.name), (3, 3, broken.name)]
    assert [i.output for i in items] == ["phone_photo-anonymised.jpg", "phone_photo-anonymised-2.jpg", ""]
    assert "text file" in items[2].error and items[0].anonymised >= 1
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        names = set(archive.namelist())
        assert names == {"phone_photo-anonymised.jpg", "phone_photo-anonymised.json", "phone_photo-anonymised-2.jpg",
                         "phone_photo-anonymised-2.json", "summary.json"}
        summary = json.loads(archive.read("summary.json"))
        assert [row["error"] != "" for row in summary] == [False, False, True]
        report = json.loads(archive.read("phone_photo-anonymised.json"))
        assert "gps" in report["metadata_removed"] and "privacy_check" in report
        with Image.open(io.BytesIO(archive.read("phone_photo-anonymised.jpg"))) as im:
            assert not im.getexif() and not im.info.get("exif")
            assert im.size == (512, 600)  # oriented upright
            assert np.asarray(im).std() > 10
