"""Domain logic in plain Python: no slack_sdk or slack_bolt imports (a test checks), plain data in and out."""
