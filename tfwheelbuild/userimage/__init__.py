"""Users' images: the wheel in a venv on the runtime image, the registry, the image job."""
