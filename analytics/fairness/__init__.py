"""Fairness checks: grouped metrics (Fairlearn), the EEC counterfactual probe, brand/identity swaps, mitigation."""
