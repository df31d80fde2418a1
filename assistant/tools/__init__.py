"""Developer tools, not the library: the benchmark (``bench``), the load generator (``loadtest``)
and a real server in a child process (``serverproc``, shared by both and by the tests).

Reached as ``kiemnhiem dev bench|load|serve-test``; nothing under ``assistant/`` outside this
folder imports it, so a user of the library never loads them.
"""
