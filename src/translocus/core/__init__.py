"""Core layer: data model, readers and writers, provenance, store, simulator."""
