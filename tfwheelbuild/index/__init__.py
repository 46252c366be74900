"""The index side: publishing, the embedded simple index, install-back verification."""
