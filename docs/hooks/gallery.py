"""mkdocs hook: the gallery page, built from a ``layerwise reproduce --quick`` results folder.

With ``LAYERWISE_GALLERY_DIR`` pointing at such a folder (``layerwise reproduce --quick --out DIR``), the page
``gallery.md`` gets, per experiment (in the folder's ``summary.json`` order of discovery, sorted by name): its
figures, the command that made them and its checks table; the PNGs are copied into the site from that folder (no
image is committed). Without the variable the page keeps its text, which says how to produce it. A variable that
names no folder, or a folder with no experiment results, stops the build with one line (a gallery that silently
shows nothing would hide a broken CI step).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ENVIRONMENT_VARIABLE = "LAYERWISE_GALLERY_DIR"
PAGE = "gallery.md"
MARKER = "<!-- gallery -->"


def _results() -> list[tuple[Path, dict]]:
    folder = os.environ.get(ENVIRONMENT_VARIABLE)
    if not folder:
        return []
    root = Path(folder)
    if not root.is_dir():
        raise PluginError(f"{ENVIRONMENT_VARIABLE}={folder!r} is not a folder (expected a `layerwise reproduce` "
                          f"results folder)")
    found = []
    for summary in sorted(root.glob("*/summary.json")):
        try:
            found.append((summary.parent, json.loads(summary.read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise PluginError(f"{summary}: cannot be read as JSON ({error})") from None
    if not found:
        raise PluginError(f"{ENVIRONMENT_VARIABLE}={folder!r} holds no experiment results (no */summary.json)")
    return found


def on_files(files, config):
    for folder, summary in _results():
        for figure in summary.get("figures", []):
            if (folder / figure).is_file():
                files.append(File.generated(config, f"gallery/{folder.name}/{figure}",
                                            abs_src_path=str(folder / figure)))
    return files


def _cell(value) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _section(folder: Path, summary: dict) -> list[str]:
    name = summary.get("experiment", folder.name)
    preset = "--quick" if summary.get("quick") else "--full"
    lines = [f"## {name}", "", f"Made by `layerwise run {name} {preset}` (or `layerwise reproduce {preset}`); "
             f"{summary.get('passed', 0)} of {summary.get('passed', 0) + summary.get('failed', 0)} checks passed, "
             f"in {summary.get('wall_time_s', 0):.0f} s.", ""]
    lines += [f"![{name}: {figure}](gallery/{folder.name}/{figure})" for figure in summary.get("figures", [])
              if (folder / figure).is_file()]
    lines += ["", "| check | claim | value | expected | result |", "|---|---|---|---|---|"]
    for check in summary.get("checks", []):
        result = check.get("status") or ("passed" if check.get("passed") else "failed")
        lines.append("| " + " | ".join(_cell(check.get(key, "")) for key in ("name", "claim", "value", "expected"))
                     + f" | {result} |")
    return [*lines, ""]


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri != PAGE:
        return markdown
    results = _results()
    if not results:
        return markdown
    head = markdown.split(MARKER)[0]
    body = [f"Built from `{os.environ[ENVIRONMENT_VARIABLE]}` ({len(results)} experiments).", ""]
    for folder, summary in results:
        body += _section(folder, summary)
    return head + "\n".join(body)
