"""One module per screen family; each builds controls from services and nothing else."""
