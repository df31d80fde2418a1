"""What docs/operations.md tells operators: every setting of ``Settings`` is documented, and nothing else."""

from __future__ import annotations

import re

from assistant.config import Settings
from tests.support import REPO

OPERATIONS = REPO / "docs" / "operations.md"


def test_operations_doc_lists_every_setting() -> None:
    doc = OPERATIONS.read_text("utf-8")
    documented = set(re.findall(r"KIEMNHIEM_([A-Z0-9_]+)", doc))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields <= documented, f"undocumented settings: {sorted(fields - documented)}"
    assert documented <= fields, f"documented but unknown: {sorted(documented - fields)}"
