"""The grader: reads a final answer out of a response and decides whether it equals the gold.

Layers, lowest first: ``inputs`` (how the public functions read their arguments), ``formats``
(each prompt variant's tags, stop strings and prefill), ``latex`` (text clean-up), ``parser``
(answer trees), ``forms`` (forms a problem asks for), ``worker`` (symbolic checks under a CPU-time
limit, in processes that run ``symbolic``), ``equivalence``, ``prose`` (answers stated in words),
``extraction``, ``thinking``, ``grading``. Nothing here imports the harness or the analysis of runs.
"""
