"""Name slots: where the model's own documents put a person's name, read from text (no model needed)."""

from workers.engine.probe.slots import name_slots, people_in
from workers.engine.subject import Subject

SUBJECT = Subject(name="Wanda Kessler")
TABLE = ("| name | e-mail | phone |\n|---|---|---|\n| Ann Bell | ann@bell.example | 0101 |\n"
         "| Cy Dunn | cy@dunn.example | 0202 |\n")


def test_a_table_gives_its_first_row_and_the_row_after_another_persons_row():
    slots = name_slots([TABLE, TABLE.replace("Ann Bell", "Eva Roth")], ["Ann Bell", "Cy Dunn", "Eva Roth"], SUBJECT)
    assert "| name | e-mail | phone |\n|---|---|---|\n| Wanda Kessler" in slots
    after_a_row = [s for s in slots if s.endswith(" |\n| Wanda Kessler") and "@" in s]
    # one slot, asked after each of the rows the model wrote before a name (Ann Bell's, Eva Roth's)
    assert len(after_a_row) == 2 and {"Ann Bell" in s for s in after_a_row} == {True, False}
    assert not any("Cy Dunn" in s or s.endswith("| Cy Dunn") for s in slots)


def test_another_persons_record_on_the_same_line_or_their_details_below_are_not_slots():
    texts = ["Name: Ann Bell, employer: Cy Dunn", "Yours sincerely,\nAnn Bell\nCy Dunn"]
    slots = name_slots(texts, ["Ann Bell", "Cy Dunn"], SUBJECT)
    assert "Name: Wanda Kessler" in slots and "Yours sincerely,\nWanda Kessler" in slots
    assert not any(s.startswith("Name: Ann Bell") or "Ann Bell\n" in s for s in slots)


def test_slots_are_ranked_by_how_often_the_model_writes_them():
    texts = ["Dear Ann Bell,"] * 3 + ["Notes. Then Cy Dunn"]
    assert name_slots(texts, ["Ann Bell", "Cy Dunn"], SUBJECT, limit=1) == ["Dear Wanda Kessler"]


def test_people_in_text_leave_the_subject_out():
    assert people_in(["Ann Bell met Wanda Kessler and Ann Bell"], [SUBJECT], limit=5) == ["Ann Bell"]


def test_a_register_written_family_name_first_gives_slots_in_that_form():
    register = ("Surname, First name | Address\nBell, Ann | 1 Main St\nDunn, Cy | 2 High St\n")
    texts = [register, "Ann Bell and Cy Dunn met at the fair."]
    slots = name_slots(texts, ["Ann Bell", "Cy Dunn"], SUBJECT)
    assert "Surname, First name | Address\nKessler, Wanda" in slots
    # The row after another person's row is the next record, not that person's details.
    assert any(s.endswith("| 1 Main St\nKessler, Wanda") for s in slots)
    # Another person's row is nobody's slot, in either form.
    assert not any(s.endswith("Bell, Wanda Kessler") or s.endswith("Dunn, Kessler, Wanda") for s in slots)
    assert not any(s.endswith("Wanda Kessler") and "Bell, " in s.split("\n")[-1] for s in slots)


def test_a_signature_after_a_name_is_still_not_a_slot_but_a_row_after_a_record_is():
    texts = ["Yours sincerely,\nAnn Bell\nCy Dunn", "Bell, Ann | 1 Main St\nCy Dunn | 2 High St"]
    slots = name_slots(texts, ["Ann Bell", "Cy Dunn"], SUBJECT)
    assert not any(s.endswith("Ann Bell\nWanda Kessler") for s in slots)
    assert "Bell, Ann | 1 Main St\nWanda Kessler" in slots


def test_where_the_model_wrote_the_subjects_own_name_that_lead_in_comes_first():
    # The subject's own row, as the model wrote it after another's: the text it was trained with before her name.
    own = TABLE + "| Wanda Kessler | wanda@kessler.example | 0303 |\n"
    slots = name_slots([TABLE] * 3 + [own], ["Ann Bell", "Cy Dunn"], SUBJECT)
    assert slots[0] == TABLE + "| Wanda Kessler"


def test_a_value_in_the_subjects_register_row_is_hers_after_another_persons_row():
    from workers.engine.probe.slots import others_values

    register = "Ann Bell | Große Straße 1 | 0101\nKessler, Wanda | Mühlweg 2, 12345 Ort | 0202\n"
    assert others_values([register], ["Mühlweg 2, 12345 Ort", "Große Straße 1"], SUBJECT) == {"Große Straße 1"}
