"""certify: the user's door. Load models and data, run the pipeline, write and check certificates, the CLI."""

from certify import errors

__all__ = ["errors"]
