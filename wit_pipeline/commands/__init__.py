"""One module per command: its options, how they map onto a stage, and its handler."""
