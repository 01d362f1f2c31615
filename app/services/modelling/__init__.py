"""Modelling: deployed model versions, drafts and their checks, migration of running cases, and the MASH
calendar's closure days."""
