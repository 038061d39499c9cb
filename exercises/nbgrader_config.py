"""nbgrader configuration for the RNN course (this folder is the nbgrader course directory).

Run nbgrader from this folder (``cd exercises``), or regenerate everything with ``make exercises``.
The instructor notebooks in ``source/`` are generated from ``authoring/*.md``; edit those, never
the notebooks.
"""

import os

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "rnn-course"
# The folder of this file (traitlets sets __file__ when it loads a config file), so that a copy
# of the course directory elsewhere is a course of its own.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# What a student sees in place of the instructor's solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Experiments train small models: give each cell time on a slow shared CPU.
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300

# The released notebooks carry no outputs.
c.ClearOutput.enabled = True
