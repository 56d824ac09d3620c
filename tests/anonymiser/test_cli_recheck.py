"""`--recheck`: what the privacy check still finds in an output is covered, and the report says so."""
import json
import shutil

from anonymiser.cli import main


def test_recheck_covers_what_the_check_finds_and_is_off_by_default(tmp_path, eval_dir, capsys):
    photo = tmp_path / "in" / "portrait.jpg"
    photo.parent.mkdir()
    shutil.copy(eval_dir / "images" / "mpl_grace_hopper.jpg", photo)
    args = [str(photo.parent), "--detect", "plates", "--report", "--no-progress"]  # nothing looks for the face
    assert main([*args, "--out", str(tmp_path / "plain")]) == 0
    plain = json.loads((tmp_path / "plain" / "portrait.json").read_text())
    assert "added_by_privacy_check" not in plain and "privacy_check" not in plain  # no check: no cost
    assert main([*args, "--out", str(tmp_path / "checked"), "--recheck"]) == 0
    checked = json.loads((tmp_path / "checked" / "portrait.json").read_text())
    added = checked["added_by_privacy_check"]
    assert added and all(a["label"] == "face" and "detail kept" in a["why"] for a in added)
    assert sum(r["selected"] for r in checked["regions"]) == len(added)
