"""The pack's Jinja environment: sandboxed, autoescaped, strict; a template's fault is an input error naming its file and line."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateSyntaxError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from evidencepack.errors import InputError


class TemplateProblem(InputError):
    """A --templates file does not compile, or did what a pack template may not."""


def environment(template_dirs: list[Path]) -> SandboxedEnvironment:
    """A user's --templates file is code we run: the sandbox refuses attribute
    access such as ``cycler.__init__.__globals__`` that reaches ``os.popen``."""
    return SandboxedEnvironment(
        loader=FileSystemLoader([str(d) for d in template_dirs]),
        autoescape=select_autoescape(["html", "j2", "html.j2"], default_for_string=True,
                                     default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _where(exc: BaseException) -> tuple[str | None, int | None]:
    if isinstance(exc, TemplateSyntaxError):
        return exc.filename, exc.lineno
    # Jinja rewrites a render-time traceback so its frames name the template file.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".j2", ".html")):
            return frame.filename, frame.lineno
    return None, None


def guarded(step: Callable[[], Any]) -> Any:
    """Run a template step (load or render); a template's fault becomes TemplateProblem."""
    try:
        return step()
    except TemplateError as exc:
        path, line = _where(exc)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TemplateProblem(f"template: {message}", path=path, line=line,
                              remedy="fix the template, or build without --templates") from exc
