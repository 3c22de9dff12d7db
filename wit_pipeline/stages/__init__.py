"""Pipeline stages: each a plain function over a workspace; stages never import each other."""
