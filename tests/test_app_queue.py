"""The queue bounds waiting: beyond ANONYMISER_QUEUE_SIZE waiting requests, users are told to retry, those
already queued are answered, and the server keeps serving."""
import concurrent.futures

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError
from PIL import Image

from tests.conftest import EXAMPLES, served_app

USERS = 6


@pytest.mark.slow
def test_a_full_queue_turns_users_away_with_a_sentence_and_serves_the_rest(tmp_path):
    photo = tmp_path / "group_2mp.jpg"
    with Image.open(EXAMPLES / "group.jpg") as im:
        im.convert("RGB").resize((1800, 1200)).save(photo, quality=92)
    with served_app(tmp_path, ANONYMISER_QUEUE_SIZE="1") as url:
        clients = [Client(url, verbose=False) for _ in range(USERS)]
        jobs = [c.submit(handle_file(str(photo)), "faces,plates", f"faces={0.3 + i / 100}", api_name="/detect")
                for i, c in enumerate(clients)]  # distinct thresholds: no answer comes from the detection cache
        answered, turned_away = 0, []
        for job in jobs:
            try:
                answered += isinstance(job.result(timeout=600)["regions"], list)
            except (QueueError, AppError, concurrent.futures.CancelledError) as exc:
                turned_away.append(str(exc))
        assert answered >= 1 and turned_away and answered + len(turned_away) == USERS
        assert all("queue is full" in reason.lower() for reason in turned_away), turned_away
        assert isinstance(clients[0].predict(handle_file(str(photo)), "faces", api_name="/detect")["regions"], list)
