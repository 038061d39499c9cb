"""Hidden tests, one module per assignment (``01_rnn.py`` ...). Never released to students.

Each module defines ``SEED`` (secret), ``CASES`` and ``FUNCTIONS`` (see ``autograder.specs``).
Load them with :func:`autograder.judge.load_hidden`.
"""
