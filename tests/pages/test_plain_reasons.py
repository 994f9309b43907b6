"""The verdict's reasons in an officer's words; the engine's text stays behind a disclosure."""

from __future__ import annotations

import pytest

from app.pages.plain_reasons import plain_reason


@pytest.mark.parametrize("raw,words", [
    ("84 confirmed leak(s) on held-out families: elicited-verify/sampled=64, inverse/sampled=18",
     "84 test answers still gave a removed detail back, to kinds of question the model was not trained to forget"),
    ("other people's accuracy fell to 0.940 from 0.980 (needs >= 95% of before)",
     "The model now gets 94% of other people's facts right, down from 98%: that is 96% of what it knew, and it must "
     "keep at least 95%."),
    ("held-out perplexity rose to 1.100 from 1.000 (allowed: +5%)", "perplexity rose by 10% (at most +5%"),
    ("attack quantize: 25.0% of answers in a prompt family leak a forgotten detail (allowed 2%)",
     "Under attack (Quantisation), 25.0% of the answers"),
    ("a forgotten detail is still written in 3 of 40 prompt(s): up to 12.0% chance within 20 samples "
     "(inverse/sampled; allowed 2%)", "Asked 20 times, the model would still write a removed detail with a chance "
                                      "of up to 12.0% (at most 2% is allowed), for 3 of 40 questions."),
])
def test_each_kind_of_reason_reads_as_words(raw, words):
    assert words in plain_reason(raw)


def test_a_batch_reason_names_the_request_and_an_unknown_reason_is_kept():
    assert plain_reason("subject 1: 2 confirmed leak(s) on training families: direct/greedy=2",
                        {1: "RTBF-ABC123"}).startswith("Request RTBF-ABC123: 2 test answers")
    assert plain_reason("something new happened") == "Something new happened"
