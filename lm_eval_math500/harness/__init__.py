"""Glue to lm-evaluation-harness: datasets, extraction filters, metrics and the replay model.

Every verdict comes from :mod:`lm_eval_math500.grader`.
"""
