"""Markdown tables of each part's results (the same text is printed and written to REPORT.md)."""
from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def share(hits: int, n: int) -> str:
    return f"{hits}/{n} ({hits / n:.0%})" if n else "-"


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def ms(values: dict | None) -> str:
    """`median (min-max)` of a timing summary, in ms."""
    if not values:
        return "-"
    return f"{values['median']:.0f} ({values['min']:.0f}-{values['max']:.0f})"


def quality(result: dict) -> str:
    parts = [f"Dev set: {result['images']} images; leak = score.py's (detail kept >= 0.3 in the object's core)."]
    runs = result["runs"]
    groups = list(dict.fromkeys(r["group"] for run in runs.values() for r in run["rows"]))
    headers = ["group"] + [f"{name} ({', '.join(run['kinds'])})" for name, run in runs.items()]
    rows = []
    for group in groups:
        cells = []
        for run in runs.values():
            hit = next((r for r in run["rows"] if r["group"] == group), None)
            cells.append(share(hit["leaked"], hit["n"]) if hit else "not asked")
        rows.append([group, *cells])
    rows.append(["over-anonymisation", *(pct(run["over_anonymisation"]) for run in runs.values())])
    parts.append(f"Leaked objects (of the labels each run asks for; one pipeline pass, {result['seconds']:.0f} s):"
                 "\n\n" + table(headers, rows))
    for name, run in runs.items():
        for kind, reason in run["unavailable"].items():
            parts.append(f"- {name}: `{kind}` unavailable: {reason}")
        if run["missing_outputs"]:
            parts.append(f"- {name}: missing outputs {run['missing_outputs'][:5]}")
    det_rows = [[name, d["label"], share(d["recall"]["hits"], d["recall"]["n"]),
                 share(d["recall_hard"]["hits"], d["recall_hard"]["n"]), pct(d["precision"]), d["false_positives"]]
                for name, d in result["detectors"].items()]
    parts.append("Detectors (selected boxes, IoU >= 0.5, one-to-one):\n\n"
                 + table(["detector", "label", "recall (not hard)", "recall (hard)", "precision", "false pos."],
                         det_rows))
    reid = result["reidentification"]
    reid_rows = [[g, share(reid["inputs"][g]["hits"], reid["inputs"][g]["n"]),
                  share(reid["outputs"][g]["hits"], reid["outputs"][g]["n"])] for g in reid["inputs"]]
    parts.append(f"Re-identification proxy ({reid['proxy']}): ground-truth faces it finds (IoU >= 0.5)\n\n"
                 + table(["group", "on the inputs", "on our default outputs"], reid_rows))
    return "\n\n".join(parts)


def _face_cells(point: dict) -> list[str]:
    rows = {r["group"]: r for r in point["rows"]}
    wide = [rows.get(g, {"n": 0, "leaked": 0}) for g in ("face 16-24px", "face 24-64px", "face >=64px")]
    small, hard = rows.get("face <16px", {"n": 0, "leaked": 0}), rows.get("face hard", {"n": 0, "leaked": 0})
    return [share(sum(r["leaked"] for r in wide), sum(r["n"] for r in wide)), share(small["leaked"], small["n"]),
            share(hard["leaked"], hard["n"])]


def _speed_cell(point: dict) -> str:
    return f"{point['network_mp']:.1f} MP; {point['ms']:.0f} ms ({point['size']})"


def sweep(result: dict) -> str:
    faces = result["faces"]
    chosen_key = {k: faces["chosen"][k] for k in ("scales", "threshold", "padding")}
    rows = []
    for p in faces["points"]:
        same = all(p[k] == v for k, v in chosen_key.items())
        is_current = faces["current"] is not None and all(p[k] == faces["current"][k] for k in chosen_key)
        note = " + ".join(n for n, on in (("**chosen**", same), ("current default", is_current)) if on)
        rows.append([",".join(f"{s:g}" for s in p["scales"]), f"{p['threshold']:g}", f"{p['padding']:g}",
                     *_face_cells(p), pct(p["over_anonymisation"]), p["selected"],
                     _speed_cell(p), "; ".join(p["violations"]) or "-", note])
    parts = ["Faces (RetinaFace; per scale: the curve of the threshold on its calibrated score; then padding at the "
             "best point). Leaks are score.py's, "
             "faces only rendered. Scales are capped by the detector's `max_pixels` as configured. Cost = pixels "
             "the network sees for one 1920x1080 photo (counted), then the median RetinaFace time at the default "
             "threshold on the set's three largest images.",
             table(["scales", "threshold", "padding", "faces >=16 px", "faces <16 px", "hard faces",
                    "over-anon.", "boxes", "cost", "targets missed", ""], rows)]
    for kind in ("plates", "text"):
        other = result.get(kind)
        if not other:
            continue
        if "unavailable" in other:
            parts.append(f"{kind}: detector {other['detector']} unavailable: {other['unavailable']}")
            continue
        label = other["label"]
        orows = []
        for p in other["points"]:
            r = {x["group"]: x for x in p["rows"]}
            nh, hd = r.get(f"{label} not hard", {"n": 0, "leaked": 0}), r.get(f"{label} hard", {"n": 0, "leaked": 0})
            note = " + ".join(n for n, on in (("**chosen**", p["threshold"] == other["chosen"]["threshold"]),
                                              ("current default", p["threshold"] == other["default"])) if on)
            orows.append([f"{p['threshold']:g}", share(nh["leaked"], nh["n"]), share(hd["leaked"], hd["n"]),
                          pct(p["over_anonymisation"]), p["selected"], note])
        parts.append(f"{kind.capitalize()} ({other['detector']}, only {label} rendered, padding default):\n\n"
                     + table(["threshold", f"{label} not hard leaked", f"{label} hard leaked", "over-anon.", "boxes",
                              ""], orows))
    c = faces["chosen"]
    recommend = [f"[detectors.retinaface] scales = {c['scales']}, threshold = {c['threshold']:g}; "
                 f"Style padding = {c['padding']:g}"]
    for kind in ("plates", "text"):
        other = result.get(kind)
        if other and "chosen" in other:
            recommend.append(f"[detectors.{other['detector']}] threshold = {other['chosen']['threshold']:g}")
    parts.append("Recommended (apply in detectors.toml / anonymiser/style.py):\n\n"
                 + "\n".join(f"- {r}" for r in recommend))
    return "\n\n".join(parts)


def speed(result: dict) -> str:
    sizes = list(next(iter(result["pipeline"].values())).keys()) if result["pipeline"] else []
    parts = [f"Photo: {result['photo']} cropped and resized to each size, JPEG q95; warm runs per size "
             f"{result['repeats']}; each cell median (min-max) in ms; every row is its own process."]
    rows = []
    for name, by_size in result["detectors"].items():
        first = next(iter(by_size.values()))
        if "unavailable" in first or "error" in first:
            rows.append([name, first.get("unavailable") or first.get("error"), *[""] * (len(sizes) + 1)])
            continue
        cells = [ms(by_size.get(s, {}).get("warm")) for s in sizes]
        cold = by_size[sizes[0]]["cold_ms"] / 1000
        peak = max(m.get("peak_rss_mb", 0) for m in by_size.values())
        rows.append([name, *cells, f"{cold:.1f} s", f"{peak:.0f} MB"])
    parts.append("Detectors (detect only, at their configured thresholds):\n\n"
                 + table(["detector", *sizes, "cold start (640x480)", "peak RSS"], rows))
    rows = []
    for kinds, by_size in result["pipeline"].items():
        for size, m in by_size.items():
            if "error" in m:
                rows.append([kinds, size, m["error"], "", "", "", "", "", ""])
                continue
            steps = m["steps"]
            detect = " + ".join(f"{k[len('detector_'):-3]} {v['median']:.0f}" for k, v in steps.items()
                                if k.startswith("detector_"))
            rows.append([kinds, size, ms(m["total"]), f"{steps['decode_ms']['median']:.0f}",
                         f"{steps['detect_ms']['median']:.0f} ({detect})", f"{steps['render_ms']['median']:.0f}",
                         f"{steps['encode_ms']['median']:.0f}", f"{m['cold_ms'] / 1000:.1f} s",
                         f"{m['peak_rss_mb']:.0f} MB"])
    parts.append("End to end (`anonymise_bytes`: decode + detect + render + encode, output JPEG like the input):\n\n"
                 + table(["kinds", "size", "total ms", "decode", "detect (per detector)", "render", "encode",
                          "cold start", "peak RSS"], rows))
    unavailable = {k: v for by_size in result["pipeline"].values() for m in by_size.values()
                   for k, v in m.get("unavailable", {}).items()}
    parts += [f"- `{kind}` unavailable in the pipeline runs: {reason}" for kind, reason in unavailable.items()]
    toggle = result.get("toggle")
    if toggle:
        size = "x".join(map(str, toggle["preview_size"]))
        parts.append(f"Re-render after a toggle at 12 MP ({toggle['regions']} regions, one switched off): the app's "
                     f"review picture and anonymised preview ({size}) {ms(toggle['preview'])} ms; the full-size "
                     f"render for the download {ms(toggle['render'])} ms; model calls during re-renders: "
                     f"{toggle['model_calls']}.")
    rows = [[c["jobs"], c["images"], f"{c['seconds']:.1f} s", f"{c['images_per_s']:.2f}", c["summary"]]
            for c in result["cli"]]
    parts.append("CLI over a folder of the set's images (`python -m anonymiser FOLDER --out DIR --jobs N`, default "
                 "kinds; wall clock including start-up and model loading):\n\n"
                 + table(["--jobs", "images", "wall", "images/s", "CLI summary"], rows))
    if "versus_deface" in result:
        parts.append(versus_deface(result["versus_deface"]))
    return "\n\n".join(parts)


def versus_deface(result: dict) -> str:
    """Our CLI's variants against deface's, alternating in one run: wall-time ratio and score.py's leaks."""
    rows = []
    for kinds, v in result["variants"].items():
        leaks = ", ".join(f"{r['group']} {share(r['leaked'], r['n'])}" for r in v["rows"]
                          if r["group"] in ("face not hard", "face <16px", "face hard", "plate not hard", "plate hard"))
        seconds = ", ".join(f"{s:.1f}" for s in result["seconds"][kinds])
        rows.append([kinds, f"{v['ratio_to_deface']:.2f}x", seconds, leaks, pct(v["over_anonymisation"])])
    return (f"Whole CLI vs deface 1.5.0 (`deface FOLDER`), {result['images']} images, {result['rounds']} alternating "
            "rounds; ratio = median over rounds of our wall time / deface's in the same round:\n\n"
            + table(["ours (--detect)", "time vs deface", "wall per round (s)", "leaked (score.py)",
                     "over-anon."], rows))


def deface(result: dict) -> str:
    ours, theirs = result["ours"], result["deface"]
    groups = [r["group"] for r in ours["rows"]]
    rows = []
    for group in groups:
        a = next(r for r in ours["rows"] if r["group"] == group)
        b = next((r for r in theirs["rows"] if r["group"] == group), {"n": 0, "leaked": 0})
        rows.append([group, share(a["leaked"], a["n"]), share(b["leaked"], b["n"])])
    rows.append(["over-anonymisation", pct(ours["over_anonymisation"]), pct(theirs["over_anonymisation"])])
    rows.append(["time per image (median of runs)", f"{ours['ms_per_image']:.0f} ms",
                 f"{theirs['ms_per_image']:.0f} ms"])
    rows.append(["runs (wall, s)", ", ".join(f"{s:.1f}" for s in ours["seconds"]),
                 ", ".join(f"{s:.1f}" for s in theirs["seconds"])])
    return (f"{result['images']} images; ours `{result['commands']['ours']}`, deface `{result['commands']['deface']}` "
            f"(defaults), alternating in one run; time = wall clock of the whole command / images.\n\n"
            + table(["faces leaked", "ours", "deface 1.5.0"], rows)
            + f"\n\nOurs is **{result['ratio']:.2f}x** deface's speed per image.")
