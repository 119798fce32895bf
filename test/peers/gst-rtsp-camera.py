"""A camera camgate did not write: GStreamer's RTSP server (gst-rtsp-server) with Digest auth, serving a
test pattern as H.264 (x264, baseline, a keyframe a second) at /live (or the mount path given third, such
as Dahua's /cam/realmonitor, which clients then ask for with a query string), on 127.0.0.1 and an
ephemeral port. It follows RFC 2326 strictly: the session-level `a=control:*` means the Content-Base, and
an aggregate PLAY sent anywhere else is 404.

Run with Debian's python3 (it has the GI bindings): /usr/bin/python3 gst-rtsp-camera.py USER PASSWORD [PATH]
It prints `port <n>` once it listens, and runs until stdin closes (so it never outlives the test).
"""

import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

user, password = sys.argv[1], sys.argv[2]
mount = sys.argv[3] if len(sys.argv) > 3 else "/live"
Gst.init(None)

server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service("0")

factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=500 "
    "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
factory.set_shared(True)

auth = GstRtspServer.RTSPAuth()
auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
token = GstRtspServer.RTSPToken()
token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
auth.add_digest(user, password, token)
server.set_auth(auth)

permissions = GstRtspServer.RTSPPermissions()
permissions.add_role("camera-user")
permissions.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
permissions.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
factory.set_permissions(permissions)

server.get_mount_points().add_factory(mount, factory)
server.attach(None)
print(f"port {server.get_bound_port()}", flush=True)

loop = GLib.MainLoop()


def wait_for_stdin():
    sys.stdin.read()
    GLib.idle_add(loop.quit)


threading.Thread(target=wait_for_stdin, daemon=True).start()
loop.run()
