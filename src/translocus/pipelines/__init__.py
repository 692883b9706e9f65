"""Pipelines: run the engines over a study and collect their results in one place."""
