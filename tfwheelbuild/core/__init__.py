"""The pure core: options declared once, the config cascade, the matrix, checks, the build key."""
