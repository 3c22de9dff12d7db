"""Bring up the loopback interface of a new network namespace (`unshare --net` leaves it down),
then run Python with the remaining arguments in its place: `python tests/loopback_up.py -m
pytest ...`. Done with ioctls, so no `ip` binary is needed."""

import fcntl
import os
import socket
import struct
import sys

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def bring_loopback_up() -> None:
    """Set IFF_UP on `lo`, keeping its other flags."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


if __name__ == "__main__":
    bring_loopback_up()
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
