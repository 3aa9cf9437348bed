"""PDF rendering: pure functions from data to PDF bytes (Typst), run in the render process pool.

Nothing here touches the network, the database or the event loop. Data reaches the Typst
templates only as JSON through ``sys.inputs`` and is placed as text, never as markup: a name or
answer such as ``#set page(...)`` or ``*x*`` is printed as written and cannot change the layout.
"""
