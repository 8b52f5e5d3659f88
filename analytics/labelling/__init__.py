"""People's labels feeding the model: the labelling queue and labels imported from a file.

Every label records how its post was chosen (``label_corrections.chosen_by``): by the
queue for being informative (``queue:active``), by the queue at random
(``queue:random``), found in the Post explorer (``explorer``) or imported (``file``).
Only representative labels (all but ``queue:active``) measure a model or correct KPIs.
"""
