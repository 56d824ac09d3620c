"""The people benchmark: height buckets, and a one-photo run that prints the leak table and the timings."""
from benchmarks import people


def test_height_buckets_match_the_issue():
    assert [people.bucket(h) for h in (31.9, 32, 95, 96, 255, 256, 4000)] == \
        ["<32", "32-96", "32-96", "96-256", "96-256", ">256", ">256"]


def test_one_photo_gives_the_table(capsys, eval_dir):
    assert people.main(["--eval", str(eval_dir), "--images", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| people (height, px) | n | leaked: before | leaked: boxes | leaked: masks")
    assert [r.split(" | ")[0] for r in rows[1:]] == ["| <32", "| 32-96", "| 96-256", "| >256", "| all not hard",
                                                    "| hard", "| over-anonymisation"]
    assert "ms a masked person" in out
