"""The search engine interface."""
