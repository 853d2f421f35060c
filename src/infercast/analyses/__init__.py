"""Analyses over the engine: the essay, frontiers, cost, fleets, tables, claims, forecast, validation."""
