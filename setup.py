"""The wheel carries the top-level keymaps/ as the kec_tui.keymaps package data
(keymaps/ stays where people read and edit keys; kec_tui/keymap.py finds either)."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["kec_tui*"]) + ["kec_tui.keymaps"],
    package_dir={"kec_tui.keymaps": "keymaps"},
    package_data={"kec_tui": ["*.tcss", "**/*.tcss", "data/*.toml", "data/*.gz", "data/*.NOTICE",
                              "data/policies/*.md", "data/policies/training/*.md", "data/letters/*.j2"],
                  "kec_tui.keymaps": ["*.toml"],
                  "kec_tui.remote": ["templates/*.html"]},
)
