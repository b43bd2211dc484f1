"""Local channel simulator: every channel's wire format on one port (see base.py for how to add one)."""
