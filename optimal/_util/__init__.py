"""Internal helpers every stage shares: the float64 scope, strict JSON and path checks."""
