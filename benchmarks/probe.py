"""One speed measurement in a fresh process, so cold start and peak memory are its own.

    python -m benchmarks.probe '{"what": "detector", "name": "retinaface", "image": "x.jpg", "repeats": 5}'
    python -m benchmarks.probe '{"what": "pipeline", "kinds": "faces,plates", "image": "x.jpg", "repeats": 5,
                                 "toggle": true}'

Prints one JSON line: cold start (this module's import to the first result: imports, model loading and the
first run), warm times of `repeats` further runs, and peak RSS (VmHWM). A pipeline probe times the product's
`anonymise_bytes` (decode + detect + render + encode) on the file's bytes; with `toggle`, it then switches one
region off and times what follows, counting model calls meanwhile (there must be none): the app's toggle
(`webapp.preview.draw`: the review picture and the anonymised preview, re-rendered on the photo's preview
of at most 1280 px, as the app does on every click) and the full-size render the download gets.
"""
from __future__ import annotations

import time

START = time.perf_counter()  # before any heavy import: the cold start includes them

import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks.common import peak_rss_mb, repeated_ms  # noqa: E402


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def detector(spec: dict) -> dict:
    from anonymiser.images import load_image
    from detectors.registry import DetectorUnavailable, default_registry

    registry = default_registry()
    rgb = load_image(Path(spec["image"]).read_bytes()).rgb
    try:
        model = registry.get(spec["name"])
    except DetectorUnavailable as exc:
        return {"unavailable": str(exc)}
    threshold = float(registry.settings(spec["name"])["threshold"])
    found = model.detect(rgb, threshold)
    cold = (time.perf_counter() - START) * 1000
    warm = repeated_ms(lambda: model.detect(rgb, threshold), spec["repeats"])
    return {"cold_ms": cold, "warm": summary(warm), "regions": len(found)}


class ModelCalls:
    """Counts onnxruntime session runs and registry look-ups while active (a re-render must make neither)."""

    def __enter__(self) -> ModelCalls:
        import onnxruntime

        from detectors.registry import Registry

        self.count = 0
        self._patched = [(onnxruntime.InferenceSession, "run"), (Registry, "get")]
        self._originals = [getattr(owner, name) for owner, name in self._patched]
        for (owner, name), original in zip(self._patched, self._originals, strict=True):
            setattr(owner, name, self._counting(original))
        return self

    def _counting(self, original):
        def call(*args, **kwargs):
            self.count += 1
            return original(*args, **kwargs)
        return call

    def __exit__(self, *exc) -> None:
        for (owner, name), original in zip(self._patched, self._originals, strict=True):
            setattr(owner, name, original)


def pipeline(spec: dict) -> dict:
    from anonymiser.pipeline import anonymise_bytes
    from anonymiser.render import render
    from anonymiser.settings import Settings
    from detectors.registry import default_registry
    from webapp.preview import downscaled, draw
    from webapp.review import Review

    registry = default_registry()
    data = Path(spec["image"]).read_bytes()
    settings = Settings.parse(spec["kinds"])
    outcome = anonymise_bytes(data, settings, registry)
    cold = (time.perf_counter() - START) * 1000
    steps: dict[str, list[float]] = {}
    totals = []
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        outcome = anonymise_bytes(data, settings, registry)
        totals.append((time.perf_counter() - start) * 1000)
        for step, value in outcome.report["timings_ms"].items():
            steps.setdefault(step, []).append(value)
    result = {"cold_ms": cold, "total": summary(totals), "steps": {k: summary(v) for k, v in steps.items()},
              "regions": len(outcome.detection.regions), "selected": int(outcome.detection.selected.sum()),
              "unavailable": outcome.detection.unavailable}
    if spec.get("toggle"):
        selection = outcome.detection.selected.copy()
        if selection.any():
            selection[selection.argmax()] = False  # the user switches the first selected region off
        pixels, regions = outcome.image.pixels, outcome.detection.regions
        preview, scale = downscaled(pixels)  # made once, when the photo is opened
        review = Review.from_detection(outcome.detection).with_selected_ids(regions.ids[selection])
        with ModelCalls() as calls:
            app = repeated_ms(lambda: draw(preview, review, scale, settings.style), spec["repeats"])
            full = repeated_ms(lambda: render(pixels, regions, selection, settings.style), spec["repeats"])
        result["toggle"] = {"preview": summary(app), "preview_size": list(preview.shape[1::-1]),
                            "render": summary(full), "model_calls": calls.count, "regions": len(regions)}
    return result


def main() -> int:
    spec = json.loads(sys.argv[1])
    result = detector(spec) if spec["what"] == "detector" else pipeline(spec)
    result["peak_rss_mb"] = peak_rss_mb()  # this process: one probe per process
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
