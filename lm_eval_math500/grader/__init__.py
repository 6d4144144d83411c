"""The grader: reads a final answer out of a response and decides whether it equals the gold.

Layers, lowest first: ``latex`` (text clean-up), ``parser`` (answer trees), ``forms`` (forms a
problem asks for), ``worker`` (symbolic checks under a time limit), ``equivalence``, ``extraction``,
``grading``. Nothing here imports the harness or the analysis of runs.
"""
