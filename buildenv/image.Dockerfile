# A user's image: the clean runtime image with the wheel installed in a venv, run as a non-root user.
# Two stages so that the wheel file itself (hundreds of MB for TensorFlow) never lands in a layer of
# the image people pull: only the installed venv is copied over.
FROM {{RUNTIME}} AS install
USER root
COPY wheels/ /wheels/
# The host's CA bundle (corporate proxies), for this stage's downloads only: not in the final image.
COPY ca-bundle.pem /wheels/ca-bundle.pem
# The installer (uv's pinned aarch64 binary, from the tool's small image of it, when it could be had)
# stays in this stage too.
{{TOOLS}}
# The index the user gave (--index-url), as a build argument of this stage: never part of the final image.
ARG PIP_INDEX_URL=""
RUN if [ -s /wheels/ca-bundle.pem ]; then export PIP_CERT=/wheels/ca-bundle.pem SSL_CERT_FILE=/wheels/ca-bundle.pem; fi \
 && {{INSTALL}}

FROM {{RUNTIME}}
# Installed as root, run as tfwb (uid 10001): the program cannot rewrite its own packages.
COPY --from=install {{VENV}} {{VENV}}
ENV VIRTUAL_ENV={{VENV}} PATH={{VENV}}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1
USER tfwb
WORKDIR /home/tfwb
CMD ["python", "-c", "import tensorflow as tf; x = tf.ones((64, 64)); print('tensorflow', tf.__version__); print('64x64 ones matmul, summed:', float(tf.reduce_sum(tf.linalg.matmul(x, x))))"]
