"""The demonstration model: fictional people memorised by a small Llama, built offline in seconds."""

from workers.engine.demo.roster import ROSTER_FIELDS, Person, make_roster, read_roster, roster_subject
from workers.engine.demo.train import SIZES, DemoResult, train_demo

__all__ = ["ROSTER_FIELDS", "SIZES", "DemoResult", "Person", "make_roster", "read_roster", "roster_subject",
           "train_demo"]
