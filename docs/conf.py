"""Sphinx configuration of fastgen's API reference: `sphinx-build -W -b html docs docs/_build`
(the installed fastgen is documented: build it first, `pip install .`)."""
import fastgen

project = "fastgen"
release = version = fastgen.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "architecture.md"]
# The docstrings are NumPy style (napoleon reads them); a parameter's type stays text.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {
    "members": True, "undoc-members": False, "show-inheritance": False,
    # scikit-learn's metadata-routing setters, made for every fit with options (progress=)
    "exclude-members": "set_fit_request, set_partial_fit_request, set_transform_request, set_score_request",
}
html_theme = "alabaster"

import re  # noqa: E402

# Docstrings with NumPy-style sections ("Parameters" underlined) are read by napoleon; the
# others, still plain text, are shown as written (a literal block), so that their indented
# lines and formulas are not misread as reStructuredText. Either way, a name ending in an
# underscore (components_, sigma_) is text, not a reStructuredText link.
_SECTIONED = re.compile(r"^\s*(Parameters|Returns|Attributes|Notes|Raises|Yields)\n\s*-{3,}\s*$", re.M)
_TRAILING_UNDERSCORE = re.compile(r"(?<![\w\\])(\w+)_(?=[\s.,;:)\]}'`]|$)")


def _docstring(app, what, name, obj, options, lines):
    text = "\n".join(lines)
    if not text.strip():
        return
    if _SECTIONED.search(text):
        lines[:] = [line if re.match(r"^\s*\w+ :", line) else _TRAILING_UNDERSCORE.sub(r"\1\\_", line)
                    for line in lines]
    else:
        lines[:] = ["::", ""] + ["    " + line for line in lines] + [""]


def setup(app):
    app.connect("autodoc-process-docstring", _docstring, priority=400)  # before napoleon (500)
