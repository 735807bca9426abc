"""nbgrader settings for the course: solutions/ is the source, notebooks/ the release."""
import os
import sys
import warnings


def configure(c, root: str = ".") -> None:
    root = os.path.abspath(root)
    os.makedirs(os.path.join(root, ".cache"), exist_ok=True)      # the gradebook's folder
    # nbgrader runs alembic by name: find it beside this interpreter, even when called by full path
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    warnings.filterwarnings("ignore", module="sqlalchemy")
    c.CourseDirectory.root = root
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "notebooks"
    c.CourseDirectory.db_url = f"sqlite:///{root}/.cache/gradebook.db"
    # Student versions carry no outputs; the solution body becomes NotImplementedError.
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    c.GenerateAssignment.create_assignment = True
    c.ExecutePreprocessor.timeout = 600
    # Autograde: the submission is graded in the course's sandbox, not executed in nbgrader's kernel
    # (see autograder.nbgrader_grading); the rest of nbgrader's pipeline is unchanged.
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                        SaveAutoGrades)

    from .nbgrader_grading import SandboxedGrading
    c.Autograde.autograde_preprocessors = [SandboxedGrading, IgnorePattern, ClearMetadataPreprocessor,
                                           LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
