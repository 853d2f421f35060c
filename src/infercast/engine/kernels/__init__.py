"""Measured kernel tables (per chip, engine, engine version, dtype and operator), interpolated in shape.

`source` finds the files (aiconfigurator-core's data, extra `infercast[kernels]`); `grid` holds the
interpolation arithmetic; one module per operator family turns rows into vectorised timers.
"""
