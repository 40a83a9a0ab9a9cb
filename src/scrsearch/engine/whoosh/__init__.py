"""The Whoosh implementation of the search engine."""
