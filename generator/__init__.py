"""capgen: a compiler from Naftiko capability documents to Flask, MCP and OpenAPI."""

__version__ = "0.1.0"
