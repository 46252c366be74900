"""inspect_wheel and set_build_tag on small wheels built in tmp_path."""

from __future__ import annotations

import hashlib
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tfwheelbuild.artifacts.wheelinfo import inspect_wheel, set_build_tag
from tfwheelbuild.errors import WheelInputError

WheelMaker = Callable[..., Path]
GOMP = {"tensorflow.libs/libgomp-a34b3233.so.1.0.0": b"\x7fELF fake",
        "tensorflow.libs/libz-eb09ad1d.so.1": b"\x7fELF fake z"}


def test_inspect_valid_aarch64_wheel(make_wheel: WheelMaker) -> None:
    path = make_wheel(name="tensorflow", version="2.16.1", tag="cp311-cp311-manylinux_2_34_aarch64",
                      extra=GOMP)
    info = inspect_wheel(path)
    assert info.name == "tensorflow"
    assert info.version == "2.16.1"
    assert info.build_tag == ""
    assert info.pythons == ("cp311",)
    assert info.platforms == ("manylinux_2_34_aarch64",)
    assert info.grafted == ("libgomp-a34b3233.so.1.0.0", "libz-eb09ad1d.so.1")
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.size == path.stat().st_size


def test_inspect_linux_aarch64_without_grafts(make_wheel: WheelMaker) -> None:
    info = inspect_wheel(make_wheel(tag="cp311-cp311-linux_aarch64"))
    assert info.platforms == ("linux_aarch64",)
    assert info.grafted == ()
    assert info.name == "demo-pkg"


def test_inspect_reads_build_tag(make_wheel: WheelMaker) -> None:
    assert inspect_wheel(make_wheel(build="3")).build_tag == "3"


def test_inspect_x86_64_wheel_is_refused(make_wheel: WheelMaker) -> None:
    path = make_wheel(tag="cp311-cp311-manylinux_2_17_x86_64")
    with pytest.raises(WheelInputError, match="manylinux_2_17_x86_64, not linux aarch64"):
        inspect_wheel(path)
    assert inspect_wheel(path, require_aarch64=False).platforms == ("manylinux_2_17_x86_64",)


def test_inspect_pure_wheel_is_refused(make_wheel: WheelMaker) -> None:
    with pytest.raises(WheelInputError, match="not linux aarch64"):
        inspect_wheel(make_wheel(tag="py3-none-any"))


def test_inspect_non_wheel_name(tmp_path: Path) -> None:
    path = tmp_path / "tensorflow-2.16.1.tar.gz"
    path.write_bytes(b"whatever")
    with pytest.raises(WheelInputError, match="not a wheel file name"):
        inspect_wheel(path)


def test_inspect_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-cp311-cp311-linux_aarch64.whl"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(WheelInputError, match="not a readable zip archive"):
        inspect_wheel(path)


def test_inspect_crc_error(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("demo/__init__.py", b"hello world\n" * 50)
    data = bytearray(buf.getvalue())
    data[30 + len("demo/__init__.py") + 10] ^= 0xFF  # flip a byte of the stored member's data
    path = tmp_path / "demo-1.0-cp311-cp311-linux_aarch64.whl"
    path.write_bytes(bytes(data))
    with pytest.raises(WheelInputError, match=r"corrupt \(CRC error in demo/__init__.py\)"):
        inspect_wheel(path)


def test_inspect_corrupt_deflate_stream(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("demo/__init__.py", random.Random(0).randbytes(50) + b"hello world " * 100)
    original = buf.getvalue()
    start = 30 + len("demo/__init__.py")
    path = tmp_path / "demo-1.0-cp311-cp311-linux_aarch64.whl"
    for offset in range(start, start + 40):  # some flip breaks the deflate stream itself
        data = bytearray(original)
        data[offset] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(WheelInputError):
            inspect_wheel(path)


def test_inspect_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WheelInputError, match="is not a file"):
        inspect_wheel(tmp_path / "tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl")


def test_inspect_directory(tmp_path: Path) -> None:
    folder = tmp_path / "x-1.0-cp311-cp311-linux_aarch64.whl"
    folder.mkdir()
    with pytest.raises(WheelInputError, match="is not a file"):
        inspect_wheel(folder)


@pytest.mark.allow_subprocess
def test_set_build_tag(make_wheel: WheelMaker) -> None:
    path = make_wheel(name="tensorflow", version="2.16.1", tag="cp311-cp311-linux_aarch64", extra=GOMP)
    tagged = set_build_tag(path, "7")
    assert tagged == path.parent / "tensorflow-2.16.1-7-cp311-cp311-linux_aarch64.whl"
    assert tagged.is_file()
    assert not path.exists()  # --remove
    info = inspect_wheel(tagged)
    assert info.build_tag == "7"
    assert info.grafted == ("libgomp-a34b3233.so.1.0.0", "libz-eb09ad1d.so.1")
    with zipfile.ZipFile(tagged) as archive:
        wheel_meta = archive.read("tensorflow-2.16.1.dist-info/WHEEL").decode()
    assert "Build: 7" in wheel_meta


@pytest.mark.allow_subprocess
def test_set_build_tag_on_a_broken_wheel(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-cp311-cp311-linux_aarch64.whl"
    path.write_bytes(b"not a zip")
    with pytest.raises(WheelInputError, match="cannot set build tag '7'"):
        set_build_tag(path, "7")


def test_output_files_get_the_umask_mode_not_mkstemps_0600(tmp_path: Path) -> None:
    import os
    import stat

    from tfwheelbuild.artifacts.manifest import atomic_copy, write_manifest

    src = tmp_path / "src.whl"
    src.write_bytes(b"wheel")
    old = os.umask(0o022)
    try:
        atomic_copy(src, tmp_path / "out" / "x.whl")
        write_manifest(tmp_path / "out" / "x.whl.manifest.json", {"a": 1})
    finally:
        os.umask(old)
    for name in ("x.whl", "x.whl.manifest.json"):
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == 0o644
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.whl", "x.whl.manifest.json"]


def test_foreign_libraries_reads_elf_headers(tmp_path: Path) -> None:
    import zipfile

    from tfwheelbuild.artifacts.wheelinfo import foreign_libraries

    def elf(machine: int) -> bytes:
        return b"\x7fELF\x02\x01\x01" + b"\0" * 11 + machine.to_bytes(2, "little") + b"\0" * 40

    wheel = tmp_path / "t-1-cp311-cp311-linux_aarch64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("t/_ok.so", elf(183))
        archive.writestr("t.libs/libgomp-1.so.1.0.0", elf(183))
        archive.writestr("t/_bad.cpython-311.so", elf(62))
        archive.writestr("t/readme.txt", "not a library")
    assert foreign_libraries(wheel) == [("t/_bad.cpython-311.so", "x86_64")]


def _elf(machine: int) -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\0" * 11 + machine.to_bytes(2, "little") + b"\0" * 40


def test_zip_without_dist_info_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tensorflow-2.16.1-cp311-cp311-linux_aarch64.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tensorflow/__init__.py", "x = 1\n")
    with pytest.raises(WheelInputError, match=r"has no tensorflow-2.16.1.dist-info/WHEEL .*not a wheel"):
        inspect_wheel(path)


def test_wheel_file_tags_must_equal_the_file_name_tags(make_wheel: WheelMaker, tmp_path: Path) -> None:
    x86 = make_wheel(tag="cp311-cp311-manylinux_2_17_x86_64")
    renamed = x86.rename(tmp_path / x86.name.replace("manylinux_2_17_x86_64", "manylinux_2_17_aarch64"))
    with pytest.raises(WheelInputError, match="its WHEEL file says cp311-cp311-manylinux_2_17_x86_64"):
        inspect_wheel(renamed)
    with pytest.raises(WheelInputError, match="WHEEL file says"):
        inspect_wheel(renamed, require_aarch64=False)  # a directory index takes no renamed wheel either


def test_x86_64_code_under_an_aarch64_name_is_refused(make_wheel: WheelMaker) -> None:
    for member in ("demo_pkg/_ext.cpython-311-aarch64-linux-gnu.so", "demo_pkg/bin/helper"):  # not only *.so
        path = make_wheel(extra={"demo_pkg/_ok.so": _elf(183), member: _elf(62)})
        with pytest.raises(WheelInputError, match=f"holds x86_64 code, not aarch64: {member}"):
            inspect_wheel(path)
        assert inspect_wheel(path, check_elf=False).name == "demo-pkg"
    assert inspect_wheel(make_wheel(extra={"demo_pkg/_ok.so": _elf(183)})).name == "demo-pkg"


@pytest.mark.parametrize(("tag", "python", "ok"), [
    ("cp311-cp311-linux_aarch64", "3.11", True),
    ("cp312-cp312-linux_aarch64", "3.11", False),
    ("cp39-abi3-linux_aarch64", "3.11", True),
    ("cp312-abi3-linux_aarch64", "3.11", False),
    ("py3-none-linux_aarch64", "3.12", True),
])
def test_python_tag_must_suit_py(make_wheel: WheelMaker, tag: str, python: str, ok: bool) -> None:
    path = make_wheel(tag=tag)
    if ok:
        inspect_wheel(path, python=python)
    else:
        with pytest.raises(WheelInputError, match=f"which Python {python} cannot install"):
            inspect_wheel(path, python=python)


def test_sha256_file_streams(tmp_path: Path) -> None:
    import tracemalloc

    from tfwheelbuild.util.digests import sha256_file

    path = tmp_path / "big.bin"
    path.write_bytes(random.Random(1).randbytes(8 << 20))
    tracemalloc.start()
    try:
        digest = sha256_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert peak < 3 << 20, f"{peak} bytes held to hash an 8 MB file"


def test_the_deep_check_streams_members(tmp_path: Path) -> None:
    import tracemalloc

    from tests.unit.conftest import write_wheel

    big = random.Random(2).randbytes(8 << 20)
    path = write_wheel(tmp_path, extra={"demo_pkg/_big.so": _elf(183) + big})
    tracemalloc.start()
    try:
        inspect_wheel(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak} bytes held to check a wheel with an 8 MB member"


def test_stamping_a_wheel_streams_its_members(tmp_path: Path) -> None:
    import tracemalloc

    from tests.unit.conftest import write_wheel
    from tfwheelbuild.artifacts.wheelinfo import add_dist_info_file

    path = write_wheel(tmp_path, extra={"demo_pkg/_big.so": _elf(183) + random.Random(3).randbytes(8 << 20)})
    tracemalloc.start()
    try:
        add_dist_info_file(path, "tfwheelbuild.json", b"{}", source_date_epoch=1700000000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 << 20, f"{peak} bytes held to stamp a wheel with an 8 MB member"
    assert inspect_wheel(path).name == "demo-pkg"
