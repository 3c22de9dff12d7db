"""Metadata first: choose the rows of a LAION- or DataComp-style metadata table before anything
is downloaded (its own columns, DataComp uid lists), every dropped row with its reasons."""
