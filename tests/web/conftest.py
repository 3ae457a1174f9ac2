"""Fixtures of the web console's tests: a ``labsim up`` process and a real headless Chromium.

The browser is Debian's ``chromium`` driven by Selenium through ``chromedriver`` (.ci/run
installs both with apt-get); when the binaries are missing the browser tests are skipped with
a reason that says how to install them.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The live tests' helpers run ``labsim up`` as a real process with bounded waits.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))

from live_helpers import LiveLab  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLab]:
    """One ``labsim up`` (web console on) for a module's tests, with its logs in memory."""
    tmp = tmp_path_factory.mktemp("web")
    # The suite-wide fixture that gives each test a private state folder is function-scoped;
    # this lab lives for the module, so it gets a folder of its own (a short path: a Unix
    # socket path may not exceed 107 bytes).
    import tempfile

    state = tempfile.mkdtemp(prefix="labsim-w-")
    live = LiveLab(tmp, env={"LABSIM_STATE_DIR": state})
    try:
        yield live
    finally:
        live.close()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def fresh_lab(tmp_path: Path) -> Iterator[LiveLab]:
    """A ``labsim up`` of a test's own (the walkthrough not yet run; the test may stop it)."""
    live = LiveLab(tmp_path)
    try:
        yield live
    finally:
        live.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through Selenium (skipped when the binaries are not installed)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed; install Debian's chromium and chromium-driver "
            "(apt-get install chromium chromium-driver, as .ci/run does)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1600,1000",
        "--force-device-scale-factor=1",
        "--no-proxy-server",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
