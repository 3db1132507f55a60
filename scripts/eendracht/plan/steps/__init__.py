"""Step builders per concern; `build.PHASE_STEPS` decides which run in which phase."""
