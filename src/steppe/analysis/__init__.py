"""Analyses built on runs: comparisons of scenarios (:mod:`steppe.analysis.compare`)."""
