"""The exceptions the library raises; each carries its exit code and a remedy.

The CLI maps them to one stderr line and ``exit_code`` in one place, so a
support agent never sees a traceback.
"""

from __future__ import annotations

from pathlib import Path


class ExitCode:
    OK = 0
    INCOMPLETE = 1  # a checklist is not met / a pack does not verify
    BAD_INPUT = 2
    FAILED = 3  # a build could not be completed (batch: some cases failed)


class EvidencePackError(Exception):
    """Base class: a message that names the thing at fault and what to do."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str, *, path: Path | str | None = None,
                 line: int | None = None, field: str | None = None,
                 remedy: str | None = None) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.remedy = remedy
        self.bare_message = message
        super().__init__(self.render())

    def render(self, lang: str | None = None) -> str:
        """The one line shown for this error; ``lang="zh"`` looks the message and the
        remedy up in data/messages.toml (an English sentence with no entry stays)."""
        message, remedy, colon, open_, close = \
            self.bare_message, self.remedy, ": ", " (", ")"
        if lang == "zh":
            from evidencepack.messages import translate

            message, remedy = translate(message, lang), translate(remedy or "", lang)
            colon, open_, close = "：", "（", "）"
        where = ""
        if self.path:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
            where += colon
        text = where
        if self.field:
            text += f"{self.field}{colon}"
        text += message
        if remedy:
            text += f"{open_}{remedy}{close}"
        # One line, whatever the input held: file names may carry newlines.
        return text.replace("\r", "\\r").replace("\n", "\\n")


class InputError(EvidencePackError):
    """Bad input the user can fix: a case file, an export, an evidence file."""

    exit_code = ExitCode.BAD_INPUT


class CaseFileError(InputError):
    """case.toml is missing, malformed or incomplete."""


class ChecklistError(InputError):
    """A checklist or profile data file is malformed."""


class ParseError(InputError):
    """A chat, tracking or export file cannot be read at all."""


class UnsafePathError(InputError):
    """A path would leave the folder it must stay in."""


class SetupError(EvidencePackError):
    """The machine lacks something a build needs, such as a font with Chinese.

    Exit 2, as for bad input: the user fixes it (installs a font, passes --font)
    and runs the same command again."""

    exit_code = ExitCode.BAD_INPUT


class RenderError(EvidencePackError):
    """The PDF could not be produced."""

    exit_code = ExitCode.FAILED


class SizeLimitError(EvidencePackError):
    """The pack cannot be made to fit the platform's upload limits."""

    exit_code = ExitCode.FAILED


def describe_validation(errors: list[dict], model=None) -> tuple[str, str]:
    """(field path, message) for pydantic's errors, worded for a user.

    A misspelt key comes first, named with the known key nearest to it (``model``
    gives the known keys); the "required field is missing" its correct spelling
    causes is the same mistake and is not counted again. Shared by case.toml,
    checklist and profile loading so a misspelt key reads the same everywhere.
    """
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    counted = list(errors)
    first = extra[0] if extra else errors[0]
    field = ".".join(str(part) for part in first["loc"])
    kind = first["type"]
    if kind == "missing":
        message = "required field is missing"
    elif kind == "extra_forbidden" and model is None:
        message = "unknown key (check its spelling)"
    elif kind == "extra_forbidden":
        key = str(first["loc"][-1])
        known = _known_keys(model, first["loc"][:-1])
        from evidencepack.names import nearest

        near = nearest(key, known) if known else None
        field = ".".join(str(part) for part in first["loc"][:-1])
        if near is not None:
            message = f"unknown key {key} (did you mean {near}?)"
            counted = [e for e in errors if not (
                e["type"] == "missing" and tuple(e["loc"]) == (*first["loc"][:-1], near))]
        else:
            message = f"unknown key {key} (check its spelling)"
    else:
        message = first["msg"].removeprefix("Value error, ")
    if len(counted) > 1:
        message += f" (and {len(counted) - 1} more problem(s))"
    return field, message


def _known_keys(model, loc) -> list[str]:
    """The keys the table at ``loc`` of ``model`` knows (list indexes skipped)."""
    import typing

    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        candidates = [annotation, *typing.get_args(annotation)]
        model = next((c for c in candidates if hasattr(c, "model_fields")), None)
        if model is None:
            for c in candidates:
                model = next((a for a in typing.get_args(c) if hasattr(a, "model_fields")), None)
                if model is not None:
                    break
    return list(getattr(model, "model_fields", {})) if model is not None else []
