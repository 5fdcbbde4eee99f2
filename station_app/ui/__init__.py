"""The desktop app (Flet): the only code that imports flet. Views call services, nothing else."""
