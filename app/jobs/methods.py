"""The unlearning methods an officer can choose, each with the one line the review page shows.

Names match ``workers.engine.methods.METHODS`` (a test keeps the two lists equal); the web process reads this
table so that it never imports the engine's torch code.
"""

from __future__ import annotations

METHOD_CHOICES: dict[str, str] = {
    "fpga": "Fine-grained gradient ascent: pushes down only the personal tokens in the model's own answers, "
            "keeping everything else close to the original (recommended).",
    "relearn": "Unlearning by learning: trains the model to give vague answers about the person instead "
               "(and pushes down the original personal tokens), which keeps its fluency best.",
    "ihl": "Inverted hinge loss on a Fisher-initialised LoRA adapter: lowers the leaked token only against "
           "the model's next-best guess.",
    "ga": "Plain gradient ascent (baseline): forgets fast but damages what the model knows about others.",
    "graddiff": "Gradient difference (baseline): gradient ascent balanced by training on other people's data.",
    "npo": "Negative preference optimisation (baseline): a bounded form of gradient ascent.",
}
DEFAULT_METHOD = "fpga"
