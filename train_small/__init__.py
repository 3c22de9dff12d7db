"""A small CLIP trainer that streams WebDataset shards (built out in the train_small issue)."""
