"""Packaging entry point for labsim (the design card keeps setup.py; tools live in pyproject.toml)."""

from setuptools import find_packages, setup

setup(
    name="labsim",
    version="0.1.0",
    description="Multi-organization lab simulator for Microsoft Exchange Domain Security (mutual TLS)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["labsim", "labsim.*"]),
    package_data={"labsim": ["py.typed", "data/*.toml", "web/static/*"]},
    install_requires=[
        "twisted>=23.10",
        "pyopenssl>=24.0",
        "service-identity>=24.1",
        "cryptography>=42",
        "click>=8.1",
        "prompt_toolkit>=3.0.36",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "hypothesis>=6",
            "aiosmtpd>=1.4",
            "ruff>=0.5",
            "mypy>=1.10",
            # Scenario files over several cores (the pytest plugin, docs/pytest.md).
            "pytest-xdist>=3",
            # The web console's browser tests (Debian's chromium + chromium-driver).
            "selenium>=4.20",
        ],
    },
    entry_points={
        "console_scripts": ["labsim = labsim.cli:main"],
        # labsim's fixtures (lab, lab_factory) and scenario files as test items.
        "pytest11": ["labsim = labsim.pytest_plugin"],
    },
)
