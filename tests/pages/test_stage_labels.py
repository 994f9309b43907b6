"""Every progress stage the engine reports reads as words on the officer's page, never as an internal name."""

from __future__ import annotations

import re
from pathlib import Path

from app.pages.wording import _STAGES, stage_label

ENGINE = Path(__file__).resolve().parents[2] / "workers" / "engine"


def test_every_stage_the_engine_emits_has_words():
    emitted = {m for file in ENGINE.rglob("*.py")
               for m in re.findall(r'stage="([a-z._]+)"', file.read_text(encoding="utf-8"))}
    assert {"verify", "probe.verify", "elicit.generate"} <= emitted  # the scan sees the engine's stages
    assert sorted(emitted - set(_STAGES)) == []


def test_a_nested_stage_reads_as_its_outer_and_innermost_step():
    assert stage_label("verify/probe.verify") == ("Verifying the saved model with questions it was not trained on: "
                                                  "asking the questions discovery found, again")
    assert "elicit" not in stage_label("discover/elicit.generate").replace("Letting", "")
    assert stage_label(None) == "Not started"
