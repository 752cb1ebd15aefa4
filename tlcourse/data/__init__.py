"""Dataset loaders shared by the lessons (image folders, text domains, ...)."""
