import hashlib
import io
from pathlib import Path

from tfwheelbuild.util.digests import CHUNK, sha256_file, sha256_stream


def test_sha256_file_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = b"x" * (CHUNK + 7)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_sha256_stream_copies_what_it_hashes() -> None:
    data = bytes(range(256)) * 10
    sink = io.BytesIO()
    assert sha256_stream(io.BytesIO(data), sink).hexdigest() == hashlib.sha256(data).hexdigest()
    assert sink.getvalue() == data
