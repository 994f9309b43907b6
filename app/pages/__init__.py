"""Server-rendered HTML pages: the subject's request form and status page, and the officer console."""
