"""`python -m autograder configure`: one command sets where the course lives ([tool.course] in
pyproject.toml) from the repository's name or address, keeps every other line of the file, and the
release, the first cell and the book read it back."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.configure import ConfigureError, configure, parse_repository, write_settings
from autograder.release import course_settings, course_urls, is_placeholder

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path):
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize("text", ["ada/neuro-course", "https://github.com/ada/neuro-course",
                                  "https://github.com/ada/neuro-course.git", "git@github.com:ada/neuro-course.git",
                                  "https://github.com/ada/neuro-course/"])
def test_the_repository_from_its_name_or_address(text):
    assert parse_repository(text) == "ada/neuro-course"


@pytest.mark.parametrize("text", ["neuro-course", "https://gitlab.com/ada/neuro-course", "ada/neuro/course",
                                  "ada/", "a b/c"])
def test_anything_else_is_a_one_line_error(text):
    with pytest.raises(ConfigureError, match="OWNER/NAME"):
        parse_repository(text)


def test_configure_writes_the_table_and_keeps_the_rest(project):
    before = (project / "pyproject.toml").read_text()
    assert is_placeholder(course_settings(project))
    settings = configure("https://github.com/ada/neuro-course", book_url="https://ada.github.io/neuro-course/",
                         root=project)
    after = (project / "pyproject.toml").read_text()
    assert settings == course_settings(project) and not is_placeholder(settings)
    assert settings["install"] == "course-utils @ git+https://github.com/ada/neuro-course@main"
    assert course_urls("01_perturbation", settings)["book"] == "https://ada.github.io/neuro-course/01_perturbation.html"
    # only the three lines of the setting changed; every other line (comments included) is as it was
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert changed == ['repository = "ada/neuro-course"', 'book_url = "https://ada.github.io/neuro-course/"']
    assert len(after.splitlines()) == len(before.splitlines())
    # again, with another branch and a wheel for Colab: idempotent where nothing changes
    configure("ada/neuro-course", branch="fall", install="https://example.org/c.whl", root=project)
    settings = course_settings(project)
    assert settings["branch"] == "fall" and settings["install"] == "https://example.org/c.whl"
    assert settings["book_url"] == "https://ada.github.io/neuro-course/"


def test_the_older_form_is_replaced(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.course]\ninstall = "course-utils @ git+https://github.com/OWNER/REPO"\n'
        'colab_base = "https://colab.research.google.com/github/OWNER/REPO/blob/main"\n\n[tool.other]\na = 1\n')
    write_settings({"repository": "ada/c"}, drop={"colab_base", "install"}, root=tmp_path)
    text = (tmp_path / "pyproject.toml").read_text()
    assert text == '[project]\nname = "x"\n\n[tool.course]\nrepository = "ada/c"\n\n[tool.other]\na = 1\n'


def test_the_command_line():
    """A bad repository is one line, and nothing is written (it is checked before anything else)."""
    before = (REPO / "pyproject.toml").read_text()
    proc = subprocess.run([sys.executable, "-m", "autograder", "configure", "--repo", "not a repository"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1 and proc.stdout.startswith("cannot configure:") and proc.stdout.count("\n") == 1
    assert (REPO / "pyproject.toml").read_text() == before
    proc = subprocess.run([sys.executable, "-m", "autograder", "configure", "--help"], capture_output=True,
                          text=True, cwd=REPO)
    assert proc.returncode == 0 and "--book-url" in proc.stdout
