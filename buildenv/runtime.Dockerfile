# tfwheelbuild runtime image: a clean arm64 system with only Python and venv, no compilers, in
# which a built wheel is installed and smoke-tested as a user would.
FROM {{BASE_IMAGE}}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8
# The wheel's Python: the base image's own when it has one with venv (a user-provided interpreter),
# else from the distribution, or on Ubuntu releases that lack it, from deadsnakes.
RUN if python{{PY}} -m venv /tmp/venv-probe >/dev/null 2>&1; then echo "python{{PY}}: from the base image"; else \
      apt-get update \
      && if ! apt-cache show python{{PY}}-venv >/dev/null 2>&1 && grep -qi '^ID=ubuntu' /etc/os-release; then \
           apt-get install -y --no-install-recommends software-properties-common gpg-agent \
           && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update; \
         fi \
      && apt-get install -y --no-install-recommends python{{PY}} python{{PY}}-venv ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && rm -rf /tmp/venv-probe \
 && ! command -v gcc
LABEL org.tfwheelbuild.role=runtime org.tfwheelbuild.python={{PY}}
# Builds and tests run as this unprivileged user, never as root: a compromised build step or
# package owns nothing outside its own caches. (uid 10001: clear of the 1000 that Ubuntu images use.)
RUN useradd --create-home --uid 10001 --user-group --shell /bin/sh tfwb \
 && mkdir -p /tfwb/cache /tfwb/git /tfwb/out /tfwb/patches /home/tfwb/.cache/pip \
 && chown -R tfwb:tfwb /tfwb /home/tfwb
USER tfwb
WORKDIR /tfwb
