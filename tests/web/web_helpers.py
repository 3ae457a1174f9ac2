"""Helpers of the web console's tests that are not fixtures (conftest modules cannot be
imported by name: every test folder has one)."""

from __future__ import annotations

import os
from pathlib import Path


def screenshot_folder() -> Path:
    """Where screenshots of the views are saved: ``$LABSIM_SCREENSHOTS``, default
    ``tests/web/screenshots/`` (git-ignored), for CI to keep and people to look at."""
    folder = Path(
        os.environ.get("LABSIM_SCREENSHOTS") or Path(__file__).resolve().parent / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder
