"""newsdesk: a self-hosted AI news desk."""

__version__ = "0.1.0"
