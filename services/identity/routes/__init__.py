"""The HTTP API of the identity service, one module per resource; importing a module registers its
routes on ``services.identity.context.api``."""
