"""Synthetic DIDS data: a seeded model of a radiology service's month (generate), mutants that break named rules
with answer keys (mutations), data-quality scenarios, Hypothesis strategies, and the conformance corpus builder."""
