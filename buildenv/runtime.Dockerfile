# tfwheelbuild runtime image: a clean arm64 system with only Python and venv, no compilers, in
# which a built wheel is installed and smoke-tested as a user would.
FROM {{BASE_IMAGE}}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends python{{PY}} python{{PY}}-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && ! command -v gcc
LABEL org.tfwheelbuild.role=runtime org.tfwheelbuild.python={{PY}}
WORKDIR /tfwb
