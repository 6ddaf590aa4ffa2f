"""Jupyter on the host: the interactive dashboard and the `%jspiprof_report` / `%%jspiprof` magics."""
