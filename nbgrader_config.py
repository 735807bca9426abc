# nbgrader configuration for this repository: `nbgrader generate_assignment NAME` and
# `nbgrader autograde NAME` work from the repository root. The settings live in autograder/.
from autograder.nbgrader_settings import configure

configure(get_config())  # noqa: F821  (get_config is provided by nbgrader)
