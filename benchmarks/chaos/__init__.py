"""Chaos campaigns: levelforge under worker kills, stalls, restarts, outages, races and a soak (issue 6)."""
