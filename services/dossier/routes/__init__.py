"""The HTTP API of the dossier service; importing a module registers its routes on ``api``."""
