"""Target models: the language models rtbf answers for, and their versions (registered, unlearned, restored)."""
