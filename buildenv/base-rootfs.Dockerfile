# An arm64 base image from a debootstrapped root filesystem. `docker import` would record the
# host's architecture; FROM scratch + ADD built for linux/arm64 records arm64 correctly.
FROM scratch
ADD rootfs.tar.gz /
LABEL org.tfwheelbuild.role=base org.tfwheelbuild.suite={{SUITE}} org.tfwheelbuild.mirror={{MIRROR}}
CMD ["bash"]
