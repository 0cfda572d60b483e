"""Conditioning a scenario on evidence by sequential importance sampling.

:mod:`steppe.evidence.plan` turns a scenario's observations into what an engine does with
them (windows in which an event's clock is held off, forced occurrences, checks of series
and projects, the checkpoints at which weights are recorded); :mod:`steppe.evidence.smc`
runs the generations of particles, resampling when the effective sample size falls below a
threshold (``docs/engine.md`` section 10).
"""
