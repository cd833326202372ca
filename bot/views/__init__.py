"""Block Kit views built in Python, one place per view."""
