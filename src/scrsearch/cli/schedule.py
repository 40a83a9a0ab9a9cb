"""Scheduled work: update (crawl, index, watches), watch, check."""
