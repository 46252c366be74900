"""diff_wheels and `tfwheelbuild diff` on wheels made by zipfile: what differs, and how."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from tfwheelbuild.artifacts.wheeldiff import ARCHIVE, diff_wheels
from tfwheelbuild.cli import main
from tfwheelbuild.errors import WheelInputError

WHEN = (2024, 1, 1, 0, 0, 0)
MEMBERS: tuple[tuple[str, bytes], ...] = (
    ("tf/__init__.py", b"VALUE = 1\n" * 50),
    ("tf/_lib.so", b"\x7fELF" + bytes(range(256)) * 8),
    ("tf-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: tf\nVersion: 1.0\n"),
    ("tf-1.0.dist-info/RECORD", b"tf/__init__.py,,\n"),
)


def wheel(path: Path, members: Sequence[tuple[str, bytes]] = MEMBERS, *,
          times: dict[str, tuple[int, ...]] | None = None, modes: dict[str, int] | None = None,
          level: int | None = None, comment: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.comment = comment
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(times or {}).get(name, WHEN))  # type: ignore[arg-type]
            info.external_attr = (0o100000 | (modes or {}).get(name, 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=level)
    return path


def lines(a: Path, b: Path) -> list[str]:
    return [d.line() for d in diff_wheels(a, b)]


def test_identical_wheels_have_no_differences(tmp_path: Path) -> None:
    a, b = wheel(tmp_path / "a" / "tf.whl"), wheel(tmp_path / "b" / "tf.whl")
    assert a.read_bytes() == b.read_bytes()
    assert diff_wheels(a, b) == []


def test_a_timestamp_is_metadata_only(tmp_path: Path) -> None:
    a = wheel(tmp_path / "a.whl")
    b = wheel(tmp_path / "b.whl", times={"tf/_lib.so": (2026, 11, 25, 16, 1, 14)})
    [only] = diff_wheels(a, b)
    assert (only.name, only.kind) == ("tf/_lib.so", "metadata")
    assert only.detail == "time 2024-01-01T00:00:00 != 2026-11-25T16:01:14"


def test_a_mode_is_metadata_only(tmp_path: Path) -> None:
    a = wheel(tmp_path / "a.whl", modes={"tf/_lib.so": 0o755})
    b = wheel(tmp_path / "b.whl", modes={"tf/_lib.so": 0o744})
    assert lines(a, b) == ["metadata   tf/_lib.so  (mode 100755 != 100744)"]


def test_order_names_each_member_that_moved(tmp_path: Path) -> None:
    a = wheel(tmp_path / "a.whl")
    b = wheel(tmp_path / "b.whl", [MEMBERS[1], MEMBERS[0], *MEMBERS[2:]])
    assert lines(a, b) == ["metadata   tf/__init__.py  (position 0 != 1)", "metadata   tf/_lib.so  (position 1 != 0)"]


def test_other_compression_of_the_same_bytes_is_metadata(tmp_path: Path) -> None:
    a = wheel(tmp_path / "a.whl", level=9)
    b = wheel(tmp_path / "b.whl", level=1)
    diffs = diff_wheels(a, b)
    assert diffs and all(d.kind == "metadata" and d.detail.startswith("compressed ") for d in diffs)


def test_contents_win_over_metadata_and_show_sizes(tmp_path: Path) -> None:
    a = wheel(tmp_path / "a.whl")
    changed = [(n, d + b"# more\n" if n == "tf/__init__.py" else d) for n, d in MEMBERS]
    changed = [(n, b"tf/__init__.py,sha256=x,1\n" if n.endswith("RECORD") else d) for n, d in changed]
    b = wheel(tmp_path / "b.whl", changed, times={"tf/__init__.py": (2030, 1, 1, 0, 0, 0)})
    assert lines(a, b) == ["contents   tf/__init__.py  (500 != 507 bytes)",
                           "contents   tf-1.0.dist-info/RECORD  (17 != 26 bytes)"]


def test_same_size_other_bytes(tmp_path: Path) -> None:
    a = wheel(tmp_path / "a.whl")
    b = wheel(tmp_path / "b.whl", [(n, d.replace(b"1", b"2") if n == "tf/__init__.py" else d) for n, d in MEMBERS])
    [only] = diff_wheels(a, b)
    assert only.kind == "contents" and only.detail.startswith("same size 500, crc ")


def test_members_only_in_one_wheel(tmp_path: Path) -> None:
    stamp = ("tf-1.0.dist-info/tfwheelbuild.json", b'{"build_id": "x"}\n')
    a = wheel(tmp_path / "a.whl", [*MEMBERS, stamp])
    b = wheel(tmp_path / "b.whl", [*MEMBERS[:1], *MEMBERS[2:], ("tf/extra.py", b"")])
    assert lines(a, b) == ["only in A  tf/_lib.so  (2052 bytes)",
                           "only in A  tf-1.0.dist-info/tfwheelbuild.json  (18 bytes)",
                           "only in B  tf/extra.py  (0 bytes)"]


def test_a_difference_outside_every_member_is_the_archive(tmp_path: Path) -> None:
    a = wheel(tmp_path / "a.whl")
    b = wheel(tmp_path / "b.whl", comment=b"built today")
    [only] = diff_wheels(a, b)
    assert (only.name, only.kind) == (ARCHIVE, "metadata") and "comment" in only.detail
    # Bytes that differ where no member and no comment shows it (here: junk after the end record).
    c = tmp_path / "c.whl"
    c.write_bytes(a.read_bytes() + b"junk")
    [only] = diff_wheels(a, c)
    assert (only.name, only.kind) == (ARCHIVE, "metadata") and "central directory" in only.detail


def test_not_a_zip_is_a_wheel_input_error(tmp_path: Path) -> None:
    a = wheel(tmp_path / "a.whl")
    bad = tmp_path / "bad.whl"
    bad.write_text("<html>not a wheel</html>")
    with pytest.raises(WheelInputError, match="cannot compare"):
        diff_wheels(a, bad)
    with pytest.raises(WheelInputError, match="is not a file"):
        diff_wheels(a, tmp_path / "missing.whl")


def test_cli_exit_codes_and_one_line_per_member(tmp_path: Path) -> None:
    a = wheel(tmp_path / "a" / "tf.whl")
    same = wheel(tmp_path / "b" / "tf.whl")
    other = wheel(tmp_path / "c" / "tf.whl", modes={"tf/_lib.so": 0o755},
                  times={"tf/__init__.py": (2030, 1, 1, 0, 0, 0)})
    runner = CliRunner()
    result = runner.invoke(main, ["diff", str(a), str(same)])
    assert result.exit_code == 0 and result.output.startswith("identical: ")
    result = runner.invoke(main, ["diff", str(a), str(other)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "metadata   tf/__init__.py  (time 2024-01-01T00:00:00 != 2030-01-01T00:00:00)",
        "metadata   tf/_lib.so  (mode 100644 != 100755)"]
    result = runner.invoke(main, ["diff", "--json", str(a), str(other)])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["identical"] is False and [m["name"] for m in data["members"]] == ["tf/__init__.py", "tf/_lib.so"]
    bad = tmp_path / "bad.whl"
    bad.write_text("no zip")
    result = runner.invoke(main, ["diff", str(a), str(bad)])
    assert result.exit_code == WheelInputError.exit_code and "Traceback" not in result.output
