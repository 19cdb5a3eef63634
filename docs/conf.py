"""Sphinx configuration of the course website.

Built from the notebooks' committed outputs (never re-executed) with myst-nb and
sphinx-book-theme, fully offline: the JavaScript the pages need (the Jupyter widget manager and
require.js) comes from the npm registry at build time (``docs/package.json``, installed by
``make site`` into ``docs/node_modules``) and is shipped in ``_static``. Nothing is loaded from a
CDN when a page is viewed.

Build: ``make site`` (runs ``sphinx-build -W --keep-going -b html docs docs/_build/html``).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # `import helpers` for the API reference, even without `pip -e`

NODE_MODULES = DOCS / "node_modules"
WIDGETS_DIST = NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist"
REQUIREJS = NODE_MODULES / "requirejs" / "require.js"


def _torch_version() -> str:
    """The torch pin of requirements.lock: the version every committed output was verified with."""
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    match = re.search(r"(?m)^torch==([^\s;#]+)", lock)
    if not match:
        raise RuntimeError("requirements.lock has no `torch==` pin")
    return match.group(1)


def _repository_url() -> str | None:
    """Public repository of the course (for the Binder / Colab / source links), if known."""
    url = os.environ.get("COURSE_REPO_URL")
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


# Speed: myst-nb imports nbformat, which imports jsonschema, which compiles some 40 grammars of
# the optional `rfc3987_syntax` package at import time (seconds). Notebook validation never uses
# them; jsonschema skips that optional format checker when the import fails.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

TORCH_VERSION = _torch_version()
REPO_URL = _repository_url()

# -- Project ---------------------------------------------------------------------------------
project = "Copy semantics in PyTorch"
author = "the course authors"
copyright = "the course authors, MIT licence"
language = "en"

extensions = ["myst_nb", "sphinx.ext.autodoc"]
# Sources: the numbered chapters (scratch notebooks stay out), top-level pages, instructor pages.
include_patterns = ["*.md", "instructor/**.md", "notebooks/[0-9][0-9]_*.ipynb"]
exclude_patterns = [
    "_build", "node_modules", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints",
    "notebooks/quizzes", "README.md",
]
templates_path = ["_templates"]

# -- Notebooks: stored outputs only ----------------------------------------------------------
nb_execution_mode = "off"
# Quizzes carry a live widget, a self-contained HTML form and text: the site shows the HTML
# form (works without a kernel). Lower number = preferred; text/html is 30.
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", 35),
    ("dirhtml", "application/vnd.jupyter.widget-view+json", 35),
]
# Widget JavaScript from npm (copied into _static at build time), never from a CDN.
nb_ipywidgets_js = {
    "npm/requirejs/require.js": {},
    "require-config.js": {},
    "npm/@jupyter-widgets/embed-amd.js": {},
}
nb_merge_streams = True
# Output figures shrink to the text column; scaling makes Sphinx link each to its full-size file
# (click a diagram to read its small print).
nb_render_image_options = {"scale": 100}
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# A traceback that Pygments' IPython-traceback lexer cannot tokenise is re-highlighted in relaxed
# mode, which renders it fine: not a reason to fail the build.
suppress_warnings = ["misc.highlighting_failure"]  # chapter 05: torch.load's message has backticks

# -- API reference (autodoc) -----------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_mock_imports: list[str] = []

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
        launch_buttons={"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com",
                        "notebook_interface": "jupyterlab"},
    )


# -- Generated pieces: chapter list and API module list follow the files that exist ----------
def _chapters() -> list[str]:
    return [f"notebooks/{p.stem}" for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


def _instructor_pages() -> list[str]:
    pages = sorted(p for p in DOCS.glob("instructor*.md"))
    pages += sorted((DOCS / "instructor").glob("*.md")) if (DOCS / "instructor").is_dir() else []
    return [p.relative_to(DOCS).with_suffix("").as_posix() for p in pages]


def _other_pages() -> list[str]:
    known = {"index", "api", *(_p for _p in _instructor_pages())}
    return [p.stem for p in sorted(DOCS.glob("*.md")) if p.stem not in known and p.stem != "README"]


def _helper_modules() -> list[str]:
    return [f"helpers.{p.stem}" for p in sorted((ROOT / "helpers").glob("*.py"))
            if not p.stem.startswith("_")]


def _toctree(caption: str, entries: list[str]) -> str:
    if not entries:
        return ""
    lines = "\n".join(entries)
    return f"\n```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n{lines}\n```\n"


def _generate(app, docname: str, source: list[str]) -> None:
    text = source[0]
    if docname in {"index", "api"}:  # hand-written pages may name the pinned version, in code too
        text = text.replace("{{ torch_version }}", TORCH_VERSION)
    if "<!-- generated: launch links -->" in text:
        links = ""
        if REPO_URL and REPO_URL.startswith("https://github.com/"):
            repo = REPO_URL.removeprefix("https://github.com/")
            first = _chapters()[0].removeprefix("notebooks/") if _chapters() else ""
            links = (f"Direct links for the first chapter: "
                     f"[Binder](https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/notebooks/{first}.ipynb), "
                     f"[Colab](https://colab.research.google.com/github/{repo}/blob/main/notebooks/{first}.ipynb), "
                     f"[source]({REPO_URL}).")
        text = text.replace("<!-- generated: launch links -->", links)
    if "<!-- generated: toctrees -->" in text:
        block = (_toctree("Chapters", _chapters())
                 + _toctree("For instructors", _instructor_pages())
                 + _toctree("Reference", ["api", *_other_pages()]))
        text = text.replace("<!-- generated: toctrees -->", block)
    if "<!-- generated: automodules -->" in text:
        for path in sorted((ROOT / "helpers").glob("*.py")):  # edit a helper: re-read the API page
            app.env.note_dependency(str(path))
        block = "\n".join(f"\n## `{m}`\n\n```{{eval-rst}}\n.. automodule:: {m}\n```\n"
                          for m in _helper_modules())
        text = text.replace("<!-- generated: automodules -->", block)
    source[0] = text


# -- Widgets: JS shipped with the site; a static fallback where a widget cannot render -------
WIDGET_FALLBACK = (
    '<div class="widget-fallback"><p><strong>Interactive widget.</strong> It runs live in '
    "JupyterLab (<code>make lab</code>), Binder or Colab; the web page cannot run Python.</p></div>"
)


def _widget_fallbacks(app, doctree, docname: str) -> None:
    """Follow every widget view with a fallback note that CSS hides once the widget renders."""
    from docutils import nodes

    for node in doctree.findall(nodes.raw):
        if 'type="application/vnd.jupyter.widget-view+json"' in node.astext():
            node.parent.insert(node.parent.index(node) + 1, nodes.raw("", WIDGET_FALLBACK, format="html"))
    # Output figures have no alt text (the HTML would repeat the file name). An aliasing diagram's
    # text/plain output is its plain-English description: use it. Otherwise name the section.
    images = [image for image in doctree.findall(nodes.image) if "alt" not in image]
    described = _figure_descriptions(docname)
    if len(described) != len(images):  # not one image per figure output: don't guess
        described = [""] * len(images)
    for image, text in zip(images, described):
        if text.startswith("Aliasing diagram."):
            image["alt"] = text
            continue
        section = next((a for a in _ancestors(image) if isinstance(a, nodes.section)), None)
        where = f" in “{section[0].astext()}”" if section is not None and len(section) else ""
        image["alt"] = f"Figure drawn by the code cell above{where}"


def _figure_descriptions(docname: str) -> list[str]:
    """The text/plain of every image output of a notebook page, in page order ([] elsewhere)."""
    import json

    path = DOCS / f"{docname}.ipynb"
    if not path.is_file():
        return []
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        "".join(output["data"].get("text/plain", ""))
        for cell in cells if cell["cell_type"] == "code"
        for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
    ]


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


_WIDGET_JS = ("npm/requirejs/require.js", "require-config.js", "npm/@jupyter-widgets/embed-amd.js")


def _widget_js_only_where_needed(app, pagename, templatename, context, doctree) -> None:
    """myst-nb adds the widget manager (3.6 MB) to every notebook that saved widget state, but a
    page shows widgets only where a widget view won over the other outputs (quizzes show their
    HTML form): leave the scripts out of pages without a widget view."""
    if "application/vnd.jupyter.widget-view+json" in context.get("body", ""):
        return
    context["script_files"] = [
        js for js in context.get("script_files", [])
        if str(getattr(js, "filename", "")).removeprefix("_static/") not in _WIDGET_JS
        and "widget-state+json" not in str(getattr(js, "attributes", {}).get("type", ""))
    ]


def _launch_notebooks_not_the_symlink(app, pagename, templatename, context, doctree) -> None:
    """Binder/Colab buttons point at docs/notebooks/… (the symlink Sphinx reads through); point
    them at the real notebooks/… so that Colab, which reads files from GitHub, finds them."""

    def fix(item):
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


def _ship_javascript(app, exception) -> None:
    if exception or app.builder.format != "html":
        return
    if not (WIDGETS_DIST / "embed-amd.js").is_file() or not REQUIREJS.is_file():
        raise RuntimeError(
            "docs/node_modules is missing: run `make site` (or `cd docs && npm ci`) first; "
            "the site ships require.js and the widget manager instead of loading them from a CDN"
        )
    static = Path(app.outdir) / "_static" / "npm"
    (static / "requirejs").mkdir(parents=True, exist_ok=True)
    shutil.copy2(REQUIREJS, static / "requirejs" / "require.js")
    # The bundle's modules (@jupyter-widgets/base, .../html-manager/dist/libembed-amd) fetch the
    # icon fonts next to their own require.js URL: ship the fonts in both folders.
    widgets = static / "@jupyter-widgets"
    for folder, names in ((widgets, {"embed-amd.js"}), (widgets / "html-manager" / "dist", set())):
        folder.mkdir(parents=True, exist_ok=True)
        for f in WIDGETS_DIST.iterdir():
            if f.name in names or f.suffix in {".woff", ".woff2", ".ttf", ".eot", ".svg"}:
                target = folder / f.name
                if not target.exists() or f.stat().st_mtime > target.stat().st_mtime:
                    shutil.copy2(f, target)
    shutil.copy2(WIDGETS_DIST / "embed.js.LICENSE.txt", widgets / "LICENSE.txt")


_REWRITE_ALL = False


def _outdated(app, env, added, changed, removed) -> list[str]:
    """The landing page's generated toctrees follow the files that exist: re-read it on every build
    (cheap); re-read the API page when the list of helper modules changes (edits to a helper are
    tracked as dependencies). When any page is added, changed or removed, every page is re-written
    (not re-read) in `_rewrite`: titles, chapter order and previous/next links appear on all pages."""
    global _REWRITE_ALL
    signature = (tuple(_chapters()), tuple(_instructor_pages()), tuple(_helper_modules()))
    new_modules = getattr(env, "course_signature", (None, None, None))[2] != signature[2]
    _REWRITE_ALL = bool(added or changed or removed) or getattr(env, "course_signature", None) != signature
    env.course_signature = signature
    return [d for d in ("index", *(["api"] if new_modules else [])) if d not in added and d in env.found_docs]


def _rewrite(app, env) -> list[str]:
    return sorted(env.found_docs) if _REWRITE_ALL else []


def setup(app):
    app.connect("env-get-outdated", _outdated)
    app.connect("env-updated", _rewrite)
    app.connect("source-read", _generate)
    app.connect("doctree-resolved", _widget_fallbacks)
    app.connect("html-page-context", _widget_js_only_where_needed)
    app.connect("html-page-context", _launch_notebooks_not_the_symlink, priority=900)
    app.connect("build-finished", _ship_javascript)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
