"""Scoring a workspace's posts with a model: in this process (:mod:`.local`) or on Ray Data
actors (:mod:`.ray_engine`); both write predictions the same way."""
