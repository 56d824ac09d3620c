"""The CLI-vs-deface table: ratios per variant and score.py's leaks, from a run's result."""
from benchmarks.deface_compare import folder_name
from benchmarks.tables import versus_deface


def test_table_shows_each_variants_ratio_and_leaks():
    rows = [{"group": "face", "n": 150, "leaked": 11}, {"group": "face not hard", "n": 109, "leaked": 1},
            {"group": "face <16px", "n": 35, "leaked": 1}, {"group": "face hard", "n": 41, "leaked": 10}]
    result = {"images": 45, "rounds": 2, "seconds": {"deface": [20.0, 22.0], "faces --jobs auto": [9.0, 12.1]},
              "variants": {"deface": {"ratio_to_deface": 1.0, "rows": rows, "over_anonymisation": 0.0},
                           "faces --jobs auto": {"ratio_to_deface": 0.5, "rows": rows,
                                                 "over_anonymisation": 0.01}}}
    text = versus_deface(result)
    line = next(row for row in text.splitlines() if row.startswith("| faces --jobs auto"))
    assert "0.50x" in line and "9.0, 12.1" in line and "face <16px 1/35" in line and "1.0%" in line
    assert "face >=64px" not in text and "45 images, 2 alternating rounds" in text


def test_variant_folders_are_plain_names():
    assert folder_name("faces,plates --jobs auto") == "faces_plates___jobs_auto"
    assert folder_name("deface") == "deface"
