"""Residual re-identification risk: findings per file and profile, and k-anonymity."""
