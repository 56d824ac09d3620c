"""The app's process-wide objects, made once at import: the detector registry, the cache of recent
detections, the opt-in feedback store and the limits read from the environment."""
from __future__ import annotations

import os

from detectors.registry import default_registry
from webapp.detection_cache import DetectionCache
from webapp.feedback import ADMIN_PASSWORD_ENV, store_from_env
from webapp.session import KEEP_SECONDS

QUEUE_SIZE = int(os.environ.get("ANONYMISER_QUEUE_SIZE", 32))  # waiting requests beyond this are told to retry

registry = default_registry()
detections = DetectionCache(max(64, 2 * QUEUE_SIZE), KEEP_SECONDS)  # /anonymise after /detect: detected once
feedback_store = store_from_env()  # None: no feedback section
ADMIN = feedback_store is not None and bool(os.environ.get(ADMIN_PASSWORD_ENV))  # no password set: no admin tab
