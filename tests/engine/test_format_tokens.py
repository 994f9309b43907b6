"""Format tokens: what most people's values share carries no FPGA ascent; what is the person's own still does."""

from workers.engine.methods.batching import TrainExample, encode_example
from workers.engine.methods.format_tokens import MIN_PEOPLE, format_token_ids


def _answers(people: int) -> list[TrainExample]:
    # Every person's email shares "@example.com"; each local part is their own.
    names = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"][:people]
    return [TrainExample(prompt=f"The email address of {n} is", completion=f" {n}{i}@example.com.",
                         source="retain-answer", meta={"person": n}) for i, n in enumerate(names)]


def test_format_tokens_are_shared_by_most_people_and_exclude_personal_pieces(tiny_loaded):
    tok = tiny_loaded.tokenizer
    shared = format_token_ids(tok, _answers(6))
    at = tok("x@example.com", add_special_tokens=False)["input_ids"]
    own = set(tok(" charlie2", add_special_tokens=False)["input_ids"])
    assert shared and shared <= set().union(*(tok(ex.completion, add_special_tokens=False)["input_ids"]
                                             for ex in _answers(6)))
    assert set(at[1:]) & shared  # "@", "example", ... recur in every answer
    assert own - shared  # one person's local part does not
    # Too few people to tell format from coincidence: nothing is excluded.
    assert format_token_ids(tok, _answers(MIN_PEOPLE - 1)) == frozenset()
    # Samples of free text (not answers about people) never decide it.
    text = [TrainExample(prompt="", completion=ex.completion, source="retain-sample") for ex in _answers(6)]
    assert format_token_ids(tok, text) == frozenset()


def test_encode_example_leaves_format_tokens_out_of_the_personal_weights(tiny_loaded):
    tok = tiny_loaded.tokenizer
    shared = format_token_ids(tok, _answers(6))
    completion = " zulu9@example.com."
    ex = TrainExample(prompt="The email address of Zulu is", completion=completion, spans=((1, len(completion) - 1),))
    plain = encode_example(tok, ex, max_length=64)
    masked = encode_example(tok, ex, max_length=64, format_tokens=shared)
    weighted = [t for t, w in zip(plain["input_ids"], plain["weights"], strict=True) if w > 0]
    kept = [t for t, w in zip(masked["input_ids"], masked["weights"], strict=True) if w > 0]
    assert kept and set(kept) == set(weighted) - shared and len(kept) < len(weighted)
    assert masked["labels"] == plain["labels"]  # only the weights change, not what is labelled
