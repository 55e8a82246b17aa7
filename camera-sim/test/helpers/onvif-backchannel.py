#!/usr/bin/python3
"""GStreamer's ONVIF client talks into a camera: rtspsrc with backchannel=onvif
(ONVIF Streaming Specification §5.3) plays the camera's streams into fakesinks
and pushes an audiotestsrc tone, encoded and payloaded by GStreamer, into the
back-channel stream with rtspsrc's "push-backchannel-sample" action signal
(the older "push-backchannel-buffer" takes a reference it was not given, which
language bindings cannot follow).

Usage: onvif-backchannel.py URL CODEC FREQ_HZ SECONDS tcp|udp
Prints "sent N" and exits 0 after SECONDS of sending; exits 1 on any error or
after a 45 s watchdog, so the calling test never hangs.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

url, codec, freq, seconds, proto = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
ENCODE = {
    "PCMA": "audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay",
    "PCMU": "audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay",
    # The camera announces AAC on payload type 98 (see the SDP), 16 kHz mono.
    "AAC": "audio/x-raw,rate=16000,channels=1 ! avenc_aac ! rtpmp4gpay pt=98",
}[codec]

Gst.init(None)
loop = GLib.MainLoop()
state = {"stream": None, "sent": 0, "sending": False, "rc": 1}

recv = Gst.Pipeline.new("recv")
src = Gst.ElementFactory.make("rtspsrc")
src.set_property("location", url)
src.set_property("latency", 0)
Gst.util_set_object_arg(src, "backchannel", "onvif")
Gst.util_set_object_arg(src, "protocols", proto)
recv.add(src)
send = Gst.parse_launch(
    f"audiotestsrc is-live=true wave=sine freq={freq} volume=0.5 ! {ENCODE} ! appsink name=out emit-signals=true sync=false"
)
out = send.get_by_name("out")


def fail(msg):
    print(msg, file=sys.stderr)
    state["rc"] = 1
    loop.quit()
    return False


def on_select_stream(_src, idx, caps):
    # rtspsrc marks the back channel's caps with the SDP attribute a=sendonly.
    if caps.get_structure(0).has_field("a-sendonly"):
        state["stream"] = idx
    return True


def on_pad_added(_src, pad):
    sink = Gst.ElementFactory.make("fakesink")
    sink.set_property("async", False)
    recv.add(sink)
    sink.sync_state_with_parent()
    pad.link(sink.get_static_pad("sink"))
    # A stream's pad appears once the camera answered PLAY: the back channel can take audio from now on.
    GLib.idle_add(start_sending)


def on_sample(sink):
    sample = sink.emit("pull-sample")
    # A fresh sample around a copy of the buffer: pushing appsink's own sample makes GStreamer 1.22 log a
    # CRITICAL (gst_mini_object_unlock: state >= SHARE_ONE) and then hang; a copy of our own does not.
    own = Gst.Sample.new(sample.get_buffer().copy(), sample.get_caps(), None, None)
    ret = src.emit("push-backchannel-sample", state["stream"], own)
    if ret == Gst.FlowReturn.OK:
        state["sent"] += 1
    return Gst.FlowReturn.OK


def done():
    print(f"sent {state['sent']}")
    state["rc"] = 0 if state["sent"] > 0 else 1
    loop.quit()
    return False


def start_sending():
    if state["sending"]:
        return False
    if state["stream"] is None:
        return fail("the camera offered no back channel (no a=sendonly stream)")
    state["sending"] = True
    out.connect("new-sample", on_sample)
    send.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(seconds * 1000), done)
    return False


def on_message(_bus, msg):
    if msg.type == Gst.MessageType.ERROR:
        err, dbg = msg.parse_error()
        fail(f"gstreamer error: {err.message} {dbg}")


src.connect("select-stream", on_select_stream)
src.connect("pad-added", on_pad_added)
bus = recv.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
GLib.timeout_add(45_000, fail, "watchdog: nothing finished within 45 s")
recv.set_state(Gst.State.PLAYING)
loop.run()
send.set_state(Gst.State.NULL)
recv.set_state(Gst.State.NULL)
sys.exit(state["rc"])
