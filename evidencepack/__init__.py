"""evidencepack: build checklist-checked PDF evidence packs for after-sales disputes."""

__version__ = "0.1.0"

import logging as _logging

# pypdf logs every oddity of a hostile PDF through Python's last-resort handler
# (stderr), which breaks the one-line error promise; what matters about a PDF
# is reported by us (an exhibit's problem, a verify problem).
_logging.getLogger("pypdf").setLevel(_logging.CRITICAL)

# The library API (evidencepack/api.py). Imported on first use so that `import
# evidencepack` and the command line's start stay light: a build pulls in WeasyPrint.
_API = {"build": "api", "check": "api", "write_pack": "api", "pack_digest": "api",
        "Pack": "api", "BuildOptions": "options", "CheckOptions": "options"}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f"evidencepack.{_API[name]}"), name)
    raise AttributeError(f"module 'evidencepack' has no attribute {name!r}")
