"""Sphinx settings of the course's book. book/build.py runs Sphinx on a staging copy of this folder, in
which it has put the executed student notebooks (one page each) and course-settings.json (where the
course lives: [tool.course] in pyproject.toml). MyST-NB reads the notebooks (it executes nothing: the
runs are build.py's, cached); the Sphinx Book Theme lays them out, as Jupyter Book 1 does."""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS = json.loads((HERE / "course-settings.json").read_text())
REPOSITORY = SETTINGS["repository"]
PUBLISHED = "OWNER/REPO" not in REPOSITORY

project = "Learning without backpropagation"
author = "the course's authors"
copyright = "the course's authors; code BSD-3-Clause, digits from MNIST (CC BY-SA 3.0)"
html_title = project

# myst_nb reads the notebooks and the Markdown; sphinx-mathjax-offline ships MathJax 3 into the site
# (_static/mathjax) instead of loading it from a CDN: the site works offline.
extensions = ["myst_nb", "sphinx-mathjax-offline"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "html_image"]
nb_execution_mode = "off"
nb_merge_streams = True
nb_output_stderr = "show"
# the notebooks' own download copies are static files, not pages
exclude_patterns = ["_build", "_static/**", "course-settings.json", "**.ipynb_checkpoints"]
root_doc = "index"

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_favicon = "_static/favicon.svg"
html_context = {"default_mode": "auto"}      # the reader's light or dark preference (the theme needs it said)
html_baseurl = SETTINGS.get("book_url", "")
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,          # the page's notebook, with its outputs
    "use_fullscreen_button": True,
    # where the course is published: a link to the repository and an "open issue" button on every page
    "repository_url": f"https://github.com/{REPOSITORY}" if PUBLISHED else "",
    "repository_branch": SETTINGS.get("branch", "main"),
    "use_repository_button": PUBLISHED,
    "use_issues_button": PUBLISHED,
}
