"""Glue to lm-evaluation-harness: the tasks' own class, datasets, the extraction filter and the
per-response records it makes, metrics, and the replay and journal models.

Every verdict comes from :mod:`lm_eval_math500.grader`; lm-eval is reached through its public names,
except for what :mod:`lm_eval_math500.harness.lm_eval_compat` holds.
"""
