"""The name finder: every form a record writes a name in, format words learnt from the texts, not listed."""

from __future__ import annotations

import random

import pytest

from workers.engine.probe.names import NameFinder, is_named, mentions, name_key, written_like


@pytest.mark.parametrize("line,name", [
    ("| Jan van der Berg | jan@berg.example |", "Jan van der Berg"),
    ("Kontakt: Vanesa de Santana, Tel. 0101", "Vanesa de Santana"),
    ("Seán O'Brien wrote on Monday.", "Seán O'Brien"),
    ("Fiona McDonald; Ewan MacArthur", "Fiona McDonald"),
    ("Fiona McDonald; Ewan MacArthur", "Ewan MacArthur"),
    ("Anne-Marie Dupont-Leroy, 3 rue Haute", "Anne-Marie Dupont-Leroy"),
    ("DUPONT-LEROY Anne-Marie | 0202", "Anne-Marie Dupont-Leroy"),
    ("O'BRIEN Seán | 0303", "Seán O'Brien"),
    ("van der Berg, Jan; 12 Main Street", "Jan van der Berg"),
    ("Berg, Jan | jan@berg.example", "Jan Berg"),
    ("A.-M. Dupont-Leroy || Döring GmbH", "Anne-Marie Dupont-Leroy"),
    ("Signed: J. van der Berg", "Jan van der Berg"),
    ("Dr. Ann Bell will see you.", "Ann Bell"),
    ("Can you give me Eileen McVitty's address?", "Eileen McVitty"),
])
def test_each_hard_name_form_is_found_in_a_record(line, name):
    assert any(is_named(m, name) for m in mentions(line)), [m.text for m in mentions(line)]


def test_two_names_joined_by_a_word_are_two_people_and_a_mention_of_another_is_not_hers():
    found = mentions("Ann Bell and Cy Dunn met Eva Roth.", particles=frozenset({"and", "met"}))
    assert [m.text for m in found] == ["Ann Bell", "Cy Dunn", "Eva Roth"]
    assert not is_named(found[0], "Ann Roth") and not is_named(found[1], "Cy Bell")


def test_words_of_the_format_are_learnt_from_the_texts():
    texts = ["Dear Ann Bell, thanks.", "Dear Cy Dunn, hello.", "Dear Eva Roth, hi.", "Ann Bell and Cy Dunn",
             "Eva Roth called.", "| Name | Email Address |", "your email address and phone"]
    finder = NameFinder.learn(texts)
    assert "Dear" in finder.prefixes  # in front of several whole names
    assert [m.text for m in finder.mentions("Dear Ann Bell, thanks.")] == ["Ann Bell"]
    assert finder.mentions("| Name | Email Address |") == []  # its words are written in lower case elsewhere
    # A word before a name known to be whole is no part of it, even where the texts alone cannot tell.
    assert [m.text for m in NameFinder.learn(["Hi Wanda Kessler"], known=["Wanda Kessler"]).mentions(
        "Hi Wanda Kessler")] == ["Wanda Kessler"]


def test_particles_are_learnt_from_where_the_texts_write_them():
    texts = ["Jan van der Berg signed.", "Ida van Dijk signed.", "Eva Roth and the team went in and out and ate.",
             "María José de la Cruz and Ana Luisa de la Fuente", "Eva Roth and Ann Bell at Google Inc"]
    finder = NameFinder.learn(texts)
    assert {"van", "der", "de", "la"} <= finder.particles and "and" not in finder.particles
    # After two given names only a learnt particle joins: "de la" does, "at" does not.
    assert [m.text for m in finder.mentions("Kontakt: María José de la Cruz, Tel. 0101")][0] == "María José de la Cruz"
    assert "Ann Bell" in [m.text for m in finder.mentions("Eva Roth and Ann Bell at Google Inc")]


def test_a_name_is_written_in_the_form_of_a_mention():
    register, = mentions("DUPONT-LEROY Anne-Marie | 0202")
    comma = mentions("van der Berg, Jan; 12 Main Street")[0]
    initials, = mentions("Signed: J. van der Berg")
    plain, = mentions("| Ann Bell |")
    assert written_like("Jan van der Berg", register) == "VAN DER BERG Jan"
    assert written_like("María José de la Cruz", comma) == "de la Cruz, María José"
    assert written_like("Anne-Marie Dupont-Leroy", initials) == "A.-M. Dupont-Leroy"
    assert written_like("Seán O'Brien", plain) == "Seán O'Brien"
    assert name_key("BERG, Jan") == name_key("Jan Berg") == name_key("Jan van der Berg")


def test_every_name_of_a_development_seeds_documents_is_found():
    """The format space's documents (development seeds only): every person written in one field, in any of its
    name forms and record kinds, is found; a name split over two fields (surname | given) and a one-word name
    are not names a finder can tell from other words, and are left out."""
    from bench.foreign.names import make_space_people
    from bench.foreign.space import draw_space, plan_documents

    checked, missed = 0, []
    for seed in range(6):
        train, _ = draw_space(seed)
        docs = plan_documents(make_space_people(30, seed), train, random.Random(seed))
        finder = NameFinder.learn([d.text for d in docs])
        for doc in docs:
            if "name" not in doc.format.fields:
                continue
            found = finder.mentions(doc.text)
            for name in doc.people:
                if len(name.split()) < 2:
                    continue
                checked += 1
                if not any(is_named(m, name) for m in found):
                    missed.append((seed, doc.format.kind, name))
    assert checked > 400
    assert len(missed) <= checked // 200, missed
