"""Explanations: SHAP token attributions (one entry point), caching, aggregation, VADER lexicon, safe HTML."""
