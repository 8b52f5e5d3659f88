"""Shared basics every layer of the library uses: the sentiment classes, ``Estimate``, errors,
argument checks, bootstrap helpers, progress callbacks and text normalisation."""
