"""The shared onnxruntime session: one per model and process, CPU only, threads from the cores or the env."""
import numpy as np

from detectors import onnx_session as sessions
from detectors.retinaface import read_weights


def test_one_session_per_model_and_thread_count(monkeypatch):
    monkeypatch.delenv(sessions.THREADS_ENV, raising=False)
    model = read_weights()
    first = sessions.onnx_session(model)
    assert sessions.onnx_session(model) is first
    assert first.get_providers() == ["CPUExecutionProvider"]
    assert sessions.onnx_session(model, threads=1) is not first


def test_threads_follow_the_environment_else_the_cores(monkeypatch):
    monkeypatch.setenv(sessions.THREADS_ENV, "3")
    assert sessions.default_threads() == 3
    monkeypatch.setenv(sessions.THREADS_ENV, "0")
    assert sessions.default_threads() == 1
    monkeypatch.delenv(sessions.THREADS_ENV)
    assert sessions.default_threads() == sessions.cores() >= 1


def test_planar_input_equals_the_plain_numpy_layout():
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    mean = (104.0, 117.0, 123.0)
    expected = (image[..., ::-1].astype(np.float32) - mean).transpose(2, 0, 1)[None]
    got = sessions.planar(image, (2, 1, 0), mean)
    assert got.shape == (1, 3, 37, 53) and got.dtype == np.float32 and got.flags.c_contiguous
    assert np.array_equal(got, expected)
    assert np.array_equal(sessions.planar(image), image.transpose(2, 0, 1)[None].astype(np.float32))


def test_sessions_share_one_arena_and_give_the_same_results():
    """Every session draws on the process's one arena (registered once, however many sessions are made)."""
    import onnxruntime as ort

    model = read_weights()
    shared = sessions.onnx_session(model)
    assert shared.get_session_options().get_session_config_entry("session.use_env_allocators") == "1"
    sessions.onnx_session(model, threads=2)  # a second session: no second registration (onnxruntime would refuse)
    own = ort.InferenceSession(model, providers=["CPUExecutionProvider"])  # its own arena, as before
    x = sessions.planar(np.random.default_rng(1).integers(0, 256, (64, 96, 3), dtype=np.uint8))
    name = own.get_inputs()[0].name
    for a, b in zip(shared.run(None, {name: x}), own.run(None, {name: x}), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
