"""MkDocs hook: repository files outside docs/ on the site.

The pages are also read on GitHub, where a link such as ``../bench/RESULTS.md`` or
``../examples/demo.py`` works; on the site it would be broken. So:

- a page may include a repository file with ``<!-- include: bench/RESULTS.md -->`` (its first
  heading dropped), as bench-results.md does;
- a relative link that leaves docs/ points at the included page when there is one, at the page
  itself when it goes back into docs/ (``../docs/client.md`` from an included file), and
  otherwise at the file in the repository.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

_LINK = re.compile(r"\]\((?P<target>\.\./[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")
_INCLUDE = re.compile(r"^<!-- include: (?P<path>[\w./-]+) -->$", re.MULTILINE)
_INCLUDED = {"bench/RESULTS.md": "bench-results.md"}


def _include(markdown: str, repo: Path) -> str:
    def replace(match: re.Match[str]) -> str:
        text = (repo / match["path"]).read_text(encoding="utf-8")
        lines = text.splitlines()
        if lines and lines[0].startswith("# "):
            lines = lines[1:]
        return "\n".join(lines)

    return _INCLUDE.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Inline ``include`` markers, then rewrite links that leave docs/ (see the module doc)."""
    repo = Path(config["docs_dir"]).resolve().parent
    markdown = _include(markdown, repo)
    page_dir = posixpath.dirname(page.file.src_uri)
    repo_url = str(config["extra"]["source_url"]).rstrip("/")

    def relative(doc: str) -> str:
        return posixpath.relpath(doc, page_dir or ".")

    def replace(match: re.Match[str]) -> str:
        target, anchor = match["target"], match["anchor"] or ""
        in_docs = posixpath.normpath(posixpath.join(page_dir, target))
        if not in_docs.startswith("../"):
            return match[0]  # stays inside docs/: MkDocs checks it
        repo_path = in_docs.removeprefix("../")
        if repo_path in _INCLUDED:
            return f"]({relative(_INCLUDED[repo_path])}{anchor})"
        if repo_path.startswith("docs/"):
            return f"]({relative(repo_path.removeprefix('docs/'))}{anchor})"
        return f"]({repo_url}/blob/main/{repo_path}{anchor})"

    return _LINK.sub(replace, markdown)
