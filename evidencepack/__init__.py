"""evidencepack: build checklist-checked PDF evidence packs for after-sales disputes."""

__version__ = "0.1.0"

import logging as _logging

# pypdf logs every oddity of a hostile PDF through Python's last-resort handler
# (stderr), which breaks the one-line error promise; what matters about a PDF
# is reported by us (an exhibit's problem, a verify problem).
_logging.getLogger("pypdf").setLevel(_logging.CRITICAL)
