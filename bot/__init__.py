"""Milestone Bot: the Slack app (listeners, views), its services and its processes."""
