# JupyterLab settings for this repository: `jupyter lab --config=jupyter_lab_config.py` (see README).
#
# JupyterLab reads `overrides.json` from its application settings directory; this points that
# directory at .jupyter/lab/settings/, whose overrides.json makes Jupytext's notebook view the
# default viewer of Markdown files. Double-clicking book/04_gru.md then opens the chapter as a
# notebook (run its cells, move its demos' controls live); right-click > Open With > Editor still
# gives the plain text. Your own JupyterLab settings (~/.jupyter/lab/user-settings) still apply.
from pathlib import Path

c = get_config()  # noqa: F821 (defined by Jupyter when it loads this file)
c.LabApp.app_settings_dir = str(Path(__file__).resolve().parent / ".jupyter" / "lab" / "settings")
