"""``labsim matrix``: one message to and from every partner domain, and what became of it.

:mod:`~labsim.matrix.model` is pure (the pairs, what the configuration means, the outcome of a
pair from plain facts, the table, JSON and JUnit forms); :mod:`~labsim.matrix.runner` drives a
running lab to get those facts.
"""
