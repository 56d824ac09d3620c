"""QR codes and barcodes pasted into real photos: found, covered, and their payloads never reported."""
import json

import cv2
import numpy as np
import pytest

from detectors.engine import detect

EAN_L = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111",
         "0001011")
EAN_R = tuple("".join("1" if bit == "0" else "0" for bit in code) for code in EAN_L)
EAN_G = tuple(code[::-1] for code in EAN_R)
EAN_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")
PAYLOAD = "https://example.org/private-3141592653"


def ean13(digits: str, module: int = 3) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A grey EAN-13 barcode with quiet zones (OpenCV has no barcode encoder), and the box of its bars.

    Bars are 66 modules tall, about the printed proportions of the symbol.
    """
    height = 66 * module
    d = [int(c) for c in digits]
    d.append(-sum(x * (3 if i % 2 else 1) for i, x in enumerate(d)) % 10)
    left = "".join((EAN_L if p == "L" else EAN_G)[x] for p, x in zip(EAN_PARITY[d[0]], d[1:7], strict=True))
    bits = "101" + left + "01010" + "".join(EAN_R[x] for x in d[7:]) + "101"
    row = np.where(np.repeat([b == "1" for b in bits], module), 0, 255).astype(np.uint8)
    quiet = 10 * module
    image = cv2.copyMakeBorder(np.tile(row, (height, 1)), quiet, quiet, quiet, quiet, cv2.BORDER_CONSTANT, value=255)
    return image, (quiet, quiet, quiet + len(row), quiet + height)


def qr(text: str, side: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A grey QR code `side` px wide (the encoder adds a 2-module quiet zone), and the box of its modules."""
    code = cv2.QRCodeEncoder.create().encode(text)
    border = 2 * side / code.shape[0]
    image = cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST)
    return image, (round(border), round(border), round(side - border), round(side - border))


def paste(photo: np.ndarray, code: np.ndarray, inner: tuple[int, int, int, int], centre: tuple[float, float],
          angle: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo with `code` rotated by `angle` degrees about `centre`, and the polygon of its `inner` box."""
    h, w = code.shape
    rotation = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rotation[:, 2] += np.asarray(centre) - (w / 2, h / 2)
    size = photo.shape[1], photo.shape[0]
    warped = cv2.warpAffine(code, rotation, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full_like(code, 255), rotation, size, flags=cv2.INTER_NEAREST) > 0
    out = photo.copy()
    out[mask] = warped[mask][:, None]
    x0, y0, x1, y1 = inner
    corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], np.float64)
    return out, corners @ rotation.T


def covered_share(truth: np.ndarray, polygon: np.ndarray, shape: tuple[int, ...]) -> float:
    a, b = np.zeros(shape[:2], np.uint8), np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(a, [np.round(truth).astype(np.int32)], 1)
    cv2.fillPoly(b, [np.round(polygon).astype(np.int32)], 1)
    return float((a & b).sum() / a.sum())


@pytest.fixture(scope="module")
def street_with_codes(eval_image):
    """A real street photo with a tilted QR code on the left and a barcode lower right."""
    photo = eval_image("litealpr_wild05.png")
    code, inner = qr(PAYLOAD, 180)
    photo, qr_polygon = paste(photo, code, inner, (250, 200), 20)
    bars, inner = ean13("590123412345")
    photo, bar_polygon = paste(photo, bars, inner, (950, 560), -8)
    return photo, qr_polygon, bar_polygon


def test_qr_and_barcode_are_found_and_covered(street_with_codes, registry):
    photo, qr_polygon, bar_polygon = street_with_codes
    result = detect(photo, "qr", registry=registry)
    regions = result.regions[result.selected]
    assert sorted(regions.labels) == ["barcode", "qr"]
    assert (regions.scores == 1.0).all() and set(regions.detectors) == {"codes"}
    for label, truth in (("qr", qr_polygon), ("barcode", bar_polygon)):
        region = regions[regions.labels == label]
        polygon = region.polygons[0]
        assert polygon is not None and polygon.shape == (4, 2)
        assert covered_share(truth, polygon, photo.shape) >= 0.99, label
        x0, y0, x1, y1 = region.boxes[0]
        assert x0 <= polygon[:, 0].min() and polygon[:, 0].max() <= x1
        assert y0 <= polygon[:, 1].min() and polygon[:, 1].max() <= y1
    h, w = photo.shape[:2]
    assert (regions.boxes[:, :2] >= 0).all() and (regions.boxes[:, 2] <= w).all() and (regions.boxes[:, 3] <= h).all()


def test_payloads_are_not_reported(street_with_codes, registry):
    result = detect(street_with_codes[0], "qr", registry=registry)
    rows = json.dumps(result.regions.to_json())
    assert len(result.regions) == 2
    assert "example.org" not in rows and "590123412345" not in rows


def test_code_near_the_border_keeps_its_polygon_in_the_image(eval_image, registry):
    photo = eval_image("ultra_zidane.jpg")
    code, inner = qr(PAYLOAD, 160)
    photo, _ = paste(photo, code, inner, (photo.shape[1] - 82, 82), 0)
    found = registry.get("codes").detect(photo, 0.5)
    assert list(found.labels) == ["qr"]
    h, w = photo.shape[:2]
    polygon = found.polygons[0]
    assert (polygon >= 0).all() and (polygon[:, 0] <= w).all() and (polygon[:, 1] <= h).all()


@pytest.mark.parametrize("name", ["ocv_scenetext02.jpg", "ocv_imageTextN.png", "litealpr_wild02.png",
                                  "insightface_t1.jpg"])
def test_no_codes_in_photos_without_any(name, eval_image, registry):
    assert not len(registry.get("codes").detect(eval_image(name), 0.5))
    assert registry.status("codes").state == "ready"
