"""The split of discovered contexts into what unlearning trains on and what verification alone asks."""

from workers.engine.probe.contexts import Context, assign_splits, split_for


def _groups(split: str, count: int) -> list[str]:
    return [g for g in (f"g{i}" for i in range(200)) if split_for(g) == split][:count]


def test_an_attribute_found_only_in_held_out_groups_gets_one_of_them_trained_on():
    held = _groups("heldout", 3)
    train = _groups("train", 2)
    contexts = ([Context(prompt=f"p{g}", origin="elicited", attribute="email", group=g) for g in train]
                + [Context(prompt=f"q{g}", origin="elicited", attribute="dob", group=g) for g in held[:2]]
                + [Context(prompt=f"q{held[1]}b", origin="elicited", attribute="dob", group=held[1])]
                + [Context(prompt=f"r{held[2]}", origin="elicited", attribute="phone", group=held[2])])
    split = {c.prompt: c.split for c in assign_splits(contexts)}
    assert all(split[f"p{g}"] == "train" for g in train)
    # dob: its largest group is trained on, the other stays held out
    assert split[f"q{held[1]}"] == split[f"q{held[1]}b"] == "train" and split[f"q{held[0]}"] == "heldout"
    assert split[f"r{held[2]}"] == "train"  # phone had one held-out group, and another group stays held out
    assert "heldout" in split.values()


def test_the_last_held_out_group_is_not_moved():
    (held,) = _groups("heldout", 1)
    contexts = [Context(prompt="a", origin="elicited", attribute="email", group=_groups("train", 1)[0]),
                Context(prompt="b", origin="elicited", attribute="dob", group=held)]
    assert {c.prompt: c.split for c in assign_splits(contexts)} == {"a": "train", "b": "heldout"}
