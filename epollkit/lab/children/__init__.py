"""The helper processes the experiments start (``python -m epollkit.lab.children.<name>``)."""
