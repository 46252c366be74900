#!/usr/bin/env bash
# Image build time and size: `tfwheelbuild image`'s recipe (its installer: uv where it can be had) against a plain Dockerfile that installs
# the same wheel into a venv on the same runtime image (COPY, venv + pip install, rm), both with the
# classic builder, cold (--no-cache) then warm (layer cache), each twice in alternation.
# Usage: scripts/bench-image.sh WHEEL RUNTIME_IMAGE   (RUNTIME_IMAGE: `tfwheelbuild images` lists it)
set -euo pipefail
wheel=$(readlink -f "$1"); runtime=$2; name=$(basename "$wheel")
py=$(echo "$name" | sed -E 's/.*-cp3([0-9]+)-.*/3.\1/')
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ours/wheels" "$work/plain"
cp "$wheel" "$work/ours/wheels/"; cp "$wheel" "$work/plain/"
ca=/etc/ssl/certs/ca-certificates.crt; [ -f "$ca" ] || ca=/dev/null
cp "$ca" "$work/ours/ca-bundle.pem"; cp "$ca" "$work/plain/ca-bundle.pem"
# Ours as `tfwheelbuild image` renders it, installer included (uv where the tool can have it, else pip;
# uv's one-file image is made on the engine as the tool makes it).
"$(dirname "$0")/../.venv/bin/python" -c "
import sys
from pathlib import Path
from tfwheelbuild.engine.client import Engine
from tfwheelbuild.engine.installer import choose
from tfwheelbuild.userimage.image import ensure_uv_image, render
class Log:
    line = staticmethod(lambda text: None)
installer = choose('auto')
print(installer.name, file=sys.stderr)
uv_image = ensure_uv_image(Engine.connect(), Log, installer.uv) if installer.uv else ''
(Path(sys.argv[4]) / 'Dockerfile').write_bytes(render(sys.argv[1], sys.argv[2], [sys.argv[3]], None, uv_image)['Dockerfile'])
" "$runtime" "$py" "$name" "$work/ours"
cat > "$work/plain/Dockerfile" <<DOCKERFILE
FROM $runtime
USER root
COPY $name ca-bundle.pem /tmp/
RUN python$py -m venv /opt/venv && PIP_CERT=/tmp/ca-bundle.pem /opt/venv/bin/pip install --no-cache-dir /tmp/$name \
 && rm /tmp/$name
USER tfwb
ENV PATH=/opt/venv/bin:\$PATH
CMD ["python", "-c", "import tensorflow as tf; print(tf.__version__)"]
DOCKERFILE
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
for kind in ours plain ours plain; do
  echo "$kind cold $(seconds env DOCKER_BUILDKIT=0 docker build -q --no-cache --platform linux/arm64 -t "tfwb-bench-$kind:1" "$work/$kind") s"
  echo "$kind warm $(seconds env DOCKER_BUILDKIT=0 docker build -q --platform linux/arm64 -t "tfwb-bench-$kind:1" "$work/$kind") s"
done
for kind in ours plain; do
  echo "$kind size $(docker image inspect "tfwb-bench-$kind:1" --format '{{.Size}}') bytes"
  docker rmi -f "tfwb-bench-$kind:1" >/dev/null
done
