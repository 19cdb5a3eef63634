"""Sphinx configuration of the course website.

Built from the notebooks' committed outputs (never re-executed) with myst-nb and
sphinx-book-theme, fully offline. No page needs JavaScript of its own: quizzes are plain HTML
(``<details>`` per option) and notebooks store no widget views, so nothing is shipped from npm
and nothing is loaded from a CDN.

Build: ``make site``. Chapters and instructor pages are listed by glob toctrees in
``index.md``; the torch version is a MyST substitution read from ``requirements.lock``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # `import helpers` (API reference) and `tools.course`
sys.path.insert(0, str(ROOT / "tools"))

from course import CHAPTER_GLOB, chapters, torch_pin  # noqa: E402  (one source of these rules)

# Speed: myst-nb imports nbformat, which imports jsonschema, which compiles some 40 grammars of
# the optional `rfc3987_syntax` package at import time (seconds). Notebook validation never uses
# them; jsonschema skips that optional format checker when the import fails.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _repository_url() -> str | None:
    """Public repository of the course (for the Binder / Colab / source links), if known."""
    url = os.environ.get("COURSE_REPO_URL", "")
    if not url:
        try:
            url = subprocess.run(
                ["git", "-C", str(ROOT), "remote", "get-url", "origin"],
                capture_output=True, text=True, timeout=5, check=False,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            url = ""
    if url.startswith("git@github.com:"):
        url = "https://github.com/" + url.removeprefix("git@github.com:")
    url = url.removesuffix(".git")
    return url if url.startswith("https://") else None


TORCH_VERSION = torch_pin()
REPO_URL = _repository_url()

# -- Project ---------------------------------------------------------------------------------
project = "Copy semantics in PyTorch"
author = "the course authors"
copyright = "the course authors, MIT licence"
language = "en"

extensions = ["myst_nb", "sphinx.ext.autodoc"]
# Sources: the numbered chapters (scratch notebooks stay out), top-level pages, instructor pages.
include_patterns = ["*.md", "instructor/**.md", CHAPTER_GLOB]
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "notebooks/quizzes", "README.md"]
templates_path = ["_templates"]

# -- Notebooks: stored outputs only ----------------------------------------------------------
nb_execution_mode = "off"
nb_merge_streams = True
# Output figures shrink to the text column; scaling makes Sphinx link each to its full-size file
# (click a diagram to read its small print).
nb_render_image_options = {"scale": 100}
myst_enable_extensions = ["colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3


def _launch_links() -> str:
    if not (REPO_URL and REPO_URL.startswith("https://github.com/")):
        return ""
    repo = REPO_URL.removeprefix("https://github.com/")
    first = chapters()[0].name
    return (f"Direct links for the first chapter: "
            f"[Binder](https://mybinder.org/v2/gh/{repo}/main"
            f"?urlpath=lab/tree/notebooks/{first}), "
            f"[Colab](https://colab.research.google.com/github/{repo}/blob/main"
            f"/notebooks/{first}), "
            f"[source]({REPO_URL}).")


myst_substitutions = {"torch_version": TORCH_VERSION, "launch_links": _launch_links()}
# A traceback that Pygments' IPython-traceback lexer cannot tokenise is re-highlighted in relaxed
# mode, which renders it fine: not a reason to fail the build.
suppress_warnings = ["misc.highlighting_failure"]  # torch.load's error message has backticks

# -- API reference (autodoc) -----------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# matplotlib generates a `set` method on every Figure subclass: not ours to document.
autodoc_default_options = {"members": True, "show-inheritance": True, "exclude-members": "set"}

# -- HTML ------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Copy semantics in PyTorch"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = False
html_context = {"torch_version": TORCH_VERSION}
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
    "extra_footer": (
        f'<p class="course-torch-version">Outputs on this page were verified with '
        f"<strong>torch {TORCH_VERSION}</strong> (CPU), the version pinned in "
        f"<code>requirements.lock</code>.</p>"
    ),
    "article_header_end": ["torch-badge.html", "article-header-buttons.html"],
    # One search box (in the sidebar), not a second one in pydata's top bar.
    "navbar_persistent": [],
}
if REPO_URL:
    html_theme_options.update(
        repository_url=REPO_URL,
        repository_branch="main",
        path_to_docs="docs",
        use_repository_button=True,
        launch_buttons={"binderhub_url": "https://mybinder.org",
                        "colab_url": "https://colab.research.google.com",
                        "notebook_interface": "jupyterlab"},
    )


# -- Two small hooks Sphinx and myst-nb have no setting for ----------------------------------
def _figure_alt_text(app, doctree, docname: str) -> None:
    """Output figures get alt text: an aliasing diagram's text/plain output is its plain-English
    description (nbval compares it); any other figure is named after its section."""
    from docutils import nodes

    images = [image for image in doctree.findall(nodes.image) if "alt" not in image]
    path = DOCS / f"{docname}.ipynb"
    described = []
    if path.is_file():
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        described = ["".join(output["data"].get("text/plain", ""))
                     for cell in cells if cell["cell_type"] == "code"
                     for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]
    if len(described) != len(images):  # not one image per figure output: don't guess
        described = [""] * len(images)
    for image, text in zip(images, described):
        if text.startswith("Aliasing diagram."):
            image["alt"] = text
            continue
        section = image.parent
        while section is not None and not isinstance(section, nodes.section):
            section = section.parent
        where = f" in “{section[0].astext()}”" if section is not None and len(section) else ""
        image["alt"] = f"Figure drawn by the code cell above{where}"


def _launch_notebooks_not_the_symlink(app, pagename, templatename, context, doctree) -> None:
    """Binder/Colab buttons point at docs/notebooks/… (the symlink Sphinx reads through); point
    them at the real notebooks/… so that Colab, which reads files from GitHub, finds them."""

    def fix(item: object) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "url" and isinstance(value, str):
                    item[key] = value.replace("/docs/notebooks/", "/notebooks/")
                else:
                    fix(value)
        elif isinstance(item, list):
            for value in item:
                fix(value)

    fix(context.get("header_buttons", []))


def _relative_to_the_symlink(app, config) -> None:
    """Chapters link to each other as ``07_x.ipynb#section`` (which works in JupyterLab too).
    Sphinx resolves link targets through the ``docs/notebooks`` symlink to the real folder,
    where it knows no documents; map that folder back to ``docs/notebooks``."""
    from sphinx.environment import BuildEnvironment

    real, link = (DOCS / "notebooks").resolve(), DOCS / "notebooks"
    original = BuildEnvironment.relfn2path
    if getattr(original, "_course_patched", False):
        return

    def relfn2path(self, filename, docname=None):  # type: ignore[no-untyped-def]
        rel, absolute = original(self, filename, docname)
        path = Path(absolute)
        if path.is_relative_to(real):
            path = link / path.relative_to(real)
            return path.relative_to(DOCS).as_posix(), os.fspath(path)
        return rel, absolute

    relfn2path._course_patched = True  # type: ignore[attr-defined]
    BuildEnvironment.relfn2path = relfn2path  # type: ignore[method-assign]


def setup(app):
    app.connect("config-inited", _relative_to_the_symlink)
    app.connect("doctree-resolved", _figure_alt_text)
    app.connect("html-page-context", _launch_notebooks_not_the_symlink, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
