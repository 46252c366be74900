# tfwheelbuild runtime image: a clean arm64 system with only Python and venv, no compilers, in
# which a built wheel is installed and smoke-tested as a user would.
FROM {{BASE_IMAGE}}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8
# The wheel's Python from the distribution, or on Ubuntu releases that lack it, from deadsnakes.
RUN apt-get update \
 && if ! apt-cache show python{{PY}}-venv >/dev/null 2>&1 && grep -qi '^ID=ubuntu' /etc/os-release; then \
      apt-get install -y --no-install-recommends software-properties-common gpg-agent \
      && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update; \
    fi \
 && apt-get install -y --no-install-recommends python{{PY}} python{{PY}}-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && ! command -v gcc
LABEL org.tfwheelbuild.role=runtime org.tfwheelbuild.python={{PY}}
WORKDIR /tfwb
