"""Committee consensus: a worklist of disagreements, a decision record, a consensus profile."""
