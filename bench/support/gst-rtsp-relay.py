"""The peer for camgate's RTSP fan-out: GStreamer's RTSP server (gst-rtsp-server) as a relay. One shared
media pulls the camera's stream once (rtspsrc over TCP, Digest) and serves it, re-packetised, to every
client at /relay, over TCP only; no auth on its side. What `npm run bench -- rtsp` compares camgate with.

Run with Debian's python3 (it has the GI bindings):
  /usr/bin/python3 gst-rtsp-relay.py CAMERA_URL USER PASSWORD
It prints `port <n>` once it listens, and runs until stdin closes (so it never outlives the bench).
"""

import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

camera, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
Gst.init(None)

server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service("0")

factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    f'( rtspsrc location="{camera}" user-id={user} user-pw={password} protocols=tcp latency=0 '
    "! rtph264depay ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)
factory.set_shared(True)
factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)

server.get_mount_points().add_factory("/relay", factory)
server.attach(None)
print(f"port {server.get_bound_port()}", flush=True)

loop = GLib.MainLoop()


def wait_for_stdin():
    sys.stdin.read()
    GLib.idle_add(loop.quit)


threading.Thread(target=wait_for_stdin, daemon=True).start()
loop.run()
