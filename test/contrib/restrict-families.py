"""camgate's stand-in for systemd's RestrictAddressFamilies= (which is a seccomp filter on socket()):
`restrict-families.py <family,...> -- <command...>` refuses socket() for the named address families with
EAFNOSUPPORT, as systemd does, then runs the command. Needs Debian's python3-seccomp (libseccomp)."""
import errno
import os
import socket
import sys

import seccomp

separator = sys.argv.index("--")
families = [getattr(socket, name) for name in sys.argv[1].split(",") if name]
command = sys.argv[separator + 1:]

rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
for family in families:
    rules.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.EQ, family))
rules.load()
os.execvp(command[0], command)
