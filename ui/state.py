"""Session-state and widget keys, defined once so pages and tests agree on them."""

from __future__ import annotations

from typing import Final

#: The profile table on the Profiles page.
PROFILES_TABLE: Final = "profiles.table"
