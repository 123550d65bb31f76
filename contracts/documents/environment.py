"""The Jinja environment for documents: packaged templates, user overrides, a sandbox.

Problem: a buyer wants the contract on its own letterhead and in its own words, so any
template can be replaced from a folder of its own (`--template-dir`). Such a template
is code written by someone else; rendered naively, `{{ ''.__class__.__mro__ }}` reaches
Python's internals. HTML must escape every text from the contract file (a title with
`<script>` is text), and a template that names a field which does not exist must fail
loudly rather than print nothing.

Approach: one `SandboxedEnvironment` for every template, packaged or not (simplest,
and the packaged ones need nothing the sandbox forbids); a `ChoiceLoader` that looks in
the user's folder first and then in the `templates` package, found through
importlib.resources so an installed wheel works like a checkout; autoescaping for
`.html` templates; `StrictUndefined`. Every template failure — syntax, a sandbox
violation, an undefined name — becomes one `TemplateFailure` naming the template and
line, exit status 1, so nothing half-rendered is ever written.
"""

from __future__ import annotations

import importlib.resources
import pathlib
import re
import traceback
from collections.abc import Callable
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from contracts.errors import InputError

PACKAGE = "templates"


class TemplateFailure(InputError):
    """A template cannot be rendered: bad syntax, forbidden access, an unknown name."""


class PackageTemplates(BaseLoader):
    """Templates shipped in the `templates` package, read through importlib.resources."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        resource = importlib.resources.files(PACKAGE).joinpath(*template.split("/"))
        if not resource.is_file():
            raise TemplateNotFound(template)
        return resource.read_text(encoding="utf-8"), f"{PACKAGE}/{template}", lambda: True

    def list_templates(self) -> list[str]:
        root = importlib.resources.files(PACKAGE)
        return sorted(r.name for r in root.iterdir() if r.name.endswith(".j2"))


_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~#])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md_text(value: object) -> str:
    """Plain text made safe in Markdown: no emphasis, links, HTML or table breaks.

    An underscore inside a word (`short_sick_rate_i`) is left alone, as CommonMark
    does not read it as emphasis; at a word's edge it is escaped.
    """
    text = _MD_SPECIAL.sub(r"\\\1", str(value))
    return _MD_UNDERSCORE.sub(r"\\_", text)


def md_cell(value: object) -> str:
    """Text for a Markdown table cell: escaped, on one line."""
    return " ".join(md_text(value).split())


def md_code(value: object) -> str:
    """An inline code span that survives backticks and table pipes."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def environment(template_dir: pathlib.Path | None = None) -> SandboxedEnvironment:
    loaders: list[BaseLoader] = [PackageTemplates()]
    if template_dir is not None:
        loaders.insert(0, FileSystemLoader(str(template_dir)))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(
            enabled_extensions=("html", "html.j2", "htm"), default_for_string=False
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md=md_text, mdcell=md_cell, code=md_code)
    return env


def _where(exc: BaseException, name: str) -> str:
    """`template:line` of the failure: syntax errors know it; runtime errors carry it
    in the traceback, which Jinja rewrites to point into the template."""
    if isinstance(exc, TemplateSyntaxError):
        return f"{exc.filename or exc.name or name}:{exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    if frames:
        return f"{frames[-1].filename}:{frames[-1].lineno}"
    return name


def render(name: str, context: dict[str, Any], template_dir: pathlib.Path | None = None) -> str:
    """Render template `name` with `context`; any template failure is a TemplateFailure."""
    env = environment(template_dir)
    try:
        return env.get_template(name).render(context)
    except SecurityError as exc:
        raise TemplateFailure(
            f"{_where(exc, name)}: the template tried something templates may not do ({exc})"
        ) from exc
    except UndefinedError as exc:
        raise TemplateFailure(
            f"{_where(exc, name)}: {exc}; see docs/templates.md for what templates can use"
        ) from exc
    except TemplateNotFound as exc:
        raise TemplateFailure(f"template {exc.name} not found") from exc
    except TemplateError as exc:
        raise TemplateFailure(f"{_where(exc, name)}: {exc.message or exc}") from exc
    except (ArithmeticError, TypeError, ValueError, LookupError, UnicodeDecodeError) as exc:
        # A user's template can fail as Python does (1/0, a file that is not UTF-8):
        # that is the template's fault, said with its file and line, not a bug of ours.
        raise TemplateFailure(f"{_where(exc, name)}: {exc}") from exc
