"""Jinja2 environment: a show's own templates/ folder overrides the packaged defaults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2

from reviewcast.errors import ConfigError

TEMPLATE_DIR = "templates"


def environment(show_root: Path) -> jinja2.Environment:
    """Templates from ``show_root/templates`` first, then the packaged ones."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(str(show_root / TEMPLATE_DIR)),
            jinja2.PackageLoader("reviewcast", "templates"),
        ]
    )
    return jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,  # a typo in a show's template is an error, not silence
        keep_trailing_newline=False,
    )


def render(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render template ``name``; template mistakes become ConfigErrors naming the file and line."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"line {exc.lineno}: {exc.message}", path=exc.filename or name) from exc
    except jinja2.TemplateError as exc:
        raise ConfigError(f"cannot render template: {exc}", path=name) from exc


def paragraphs(text: str) -> list[str]:
    """Rendered template text → paragraphs (split at blank lines, whitespace collapsed)."""
    parts = re.split(r"\n\s*\n", text)
    return [" ".join(part.split()) for part in parts if part.strip()]


def template_sources(show_root: Path) -> list[tuple[str, str]]:
    """(name, source) of every template in use, for fingerprinting renders."""
    env = environment(show_root)
    out = []
    for name in sorted(env.list_templates()):
        source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        out.append((name, source))
    return out
