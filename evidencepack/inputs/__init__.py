"""Reading a case: case.toml, the evidence files, photos, chat exports, tracking, documents.

Everything here treats the case folder as read-only and its contents as hostile."""
