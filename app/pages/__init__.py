"""Server-rendered HTML pages: the subject's request form and status page, and the officer console.

``app.main`` includes ``app.pages.router.router`` and hands ``app.pages.routing.error_page`` to the app's error
handlers, so errors outside /api (unknown URLs included) are shown as the same friendly page.
"""
