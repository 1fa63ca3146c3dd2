"""Generate a synthetic semester inbox: config, plan-draft and evaluation files, and a manifest.

The files look like what schools send (CSV in three encodings and two separators, XLSX, English
or Latvian headers, stray spaces, odd case, blank rows and columns) and carry a known share of
injected mistakes. `manifest.json` records the truth, so tests and demos can hold the intake to
it. The same scale and seed give byte-identical files.

`run` drives one run; `geography` draws the municipalities and schools and writes their config,
`rows` the pupils and their measures, `mistakes` breaks a share of the plans, `evaluation` draws
the evaluation rows, and `files` writes the inbox files and the manifest.
"""

from __future__ import annotations

from pumpurs.generate.files import VARIANTS
from pumpurs.generate.geography import CONFIG_SOURCE, SCALES, Scale
from pumpurs.generate.mistakes import RULES
from pumpurs.generate.run import DEFAULT_SEMESTER, GenerateResult, generate

__all__ = [
    "CONFIG_SOURCE",
    "DEFAULT_SEMESTER",
    "RULES",
    "SCALES",
    "VARIANTS",
    "GenerateResult",
    "Scale",
    "generate",
]
