"""Choosing a backend from configuration."""
from sandbox.base import SandboxUnavailable
from sandbox.bwrap_backend import BwrapBackend
from sandbox.docker_backend import DockerBackend


def _make(name, *, image, rootfs, runtime=""):
    if name == "docker":
        return DockerBackend(image=image, runtime=runtime)
    if name == "bwrap":
        return BwrapBackend(rootfs=rootfs)
    raise SandboxUnavailable(f"unknown sandbox backend {name!r}: choose docker, bwrap or auto")


def available_backends(*, image, rootfs, runtime=""):
    """Names of the backends that can start a sandbox here, in order of preference."""
    names = []
    for name in ("docker", "bwrap"):
        try:
            if _make(name, image=image, rootfs=rootfs, runtime=runtime).available():
                names.append(name)
        except SandboxUnavailable:
            pass
    return names


def get_backend(name, *, image, rootfs, runtime=""):
    """``auto`` takes docker when the engine answers and the image exists, else bwrap."""
    if name == "auto":
        found = available_backends(image=image, rootfs=rootfs, runtime=runtime)
        if not found:
            raise SandboxUnavailable(
                "no sandbox backend is available: start Docker Engine and build the image, "
                "or install bubblewrap (sandbox/image/build.sh does both)")
        name = found[0]
    return _make(name, image=image, rootfs=rootfs, runtime=runtime)
