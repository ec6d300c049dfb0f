"""The command groups of ``capitalcom``, one module per API area."""
