#!/usr/bin/python3
"""Publishes a moving test pattern and a tone to an onair WHIP endpoint with python3-aiortc.

An independent WebRTC stack (not libwebrtc, not werift) proves the ingest speaks standard WHIP.
Usage: aiortc_whip_publisher.py WHIP_URL STREAM_KEY [--seconds N] [--video-only] [--codec H264|VP8]
Prints "PUBLISHING <session-url>" once the answer is applied, then runs until SIGTERM/SIGINT or
--seconds, and DELETEs the session on the way out (RFC 9725 §4.3).
"""
import argparse
import asyncio
import fractions
import math
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.codecs import h264
from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame, VideoFrame


def honour_keyframe_requests():
    """aiortc 1.4's H.264 encoder takes force_keyframe (sent on PLI) but ignores it, so a viewer
    joining waits for x264's next natural keyframe (~8 s). A fresh encoder context starts with an
    IDR, which is what OBS and browsers do on PLI."""
    original = h264.H264Encoder._encode_frame

    def encode_frame(self, frame, force_keyframe):
        if force_keyframe and self.codec is not None:
            self.buffer_data = b""
            self.buffer_pts = None
            self.codec = None
        return original(self, frame, force_keyframe)

    h264.H264Encoder._encode_frame = encode_frame


honour_keyframe_requests()

VIDEO_CLOCK = 90000
FPS = 30


class PatternTrack(MediaStreamTrack):
    """640x360 frames with a bar that moves, so a viewer can tell frames advance."""

    kind = "video"

    def __init__(self):
        super().__init__()
        self._start = None
        self._count = 0

    async def recv(self):
        if self._start is None:
            self._start = time.time()
        due = self._start + self._count / FPS
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        image = numpy.full((360, 640, 3), (40, 40, 40), dtype=numpy.uint8)
        x = (self._count * 8) % 640
        image[:, x : x + 32] = (255, 200, 0)
        image[150:210, :] = ((self._count * 3) % 255, 80, 160)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = int(self._count * VIDEO_CLOCK / FPS)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """A 440 Hz tone in 20 ms frames at 48 kHz."""

    kind = "audio"
    RATE = 48000
    SAMPLES = 960

    def __init__(self):
        super().__init__()
        self._start = None
        self._sent = 0

    async def recv(self):
        if self._start is None:
            self._start = time.time()
        due = self._start + self._sent / self.RATE
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (numpy.arange(self.SAMPLES) + self._sent) / self.RATE
        samples = (numpy.sin(2 * math.pi * 440 * t) * 8000).astype(numpy.int16)
        frame = AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = self.RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, self.RATE)
        self._sent += self.SAMPLES
        return frame


def http(method, url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def without_bundle(sdp):
    # aiortc 1.4 offers BUNDLE but gives each m-line its own ICE credentials, which breaks
    # bundled transports (FIELD-NOTES.md). Without the group every m-line has its own transport.
    return "".join(line + "\r\n" for line in sdp.splitlines() if line and not line.startswith("a=group:BUNDLE"))


async def publish(args):
    pc = RTCPeerConnection()
    video = pc.addTransceiver(PatternTrack(), direction="sendonly")
    codecs = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.upper() == f"VIDEO/{args.codec}"]
    video.setCodecPreferences(codecs)
    if not args.video_only:
        pc.addTransceiver(ToneTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp if args.video_only else without_bundle(pc.localDescription.sdp)
    loop = asyncio.get_running_loop()
    status, headers, body = await loop.run_in_executor(
        None, lambda: http("POST", args.url, offer.encode(), {"Content-Type": "application/sdp", "Authorization": f"Bearer {args.key}"})
    )
    if status != 201:
        print(f"WHIP POST failed: {status} {body}", file=sys.stderr)
        await pc.close()
        return 2
    location = urllib.parse.urljoin(args.url, headers.get("Location") or headers.get("location"))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
    print(f"PUBLISHING {location}", flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    @pc.on("connectionstatechange")
    def on_state():
        print(f"STATE {pc.connectionState}", flush=True)
        if pc.connectionState == "failed":
            stop.set()

    try:
        await asyncio.wait_for(stop.wait(), timeout=args.seconds)
    except asyncio.TimeoutError:
        pass
    await loop.run_in_executor(None, lambda: http("DELETE", location, headers={"Authorization": f"Bearer {args.key}"}))
    await pc.close()
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("--seconds", type=float, default=3600)
    parser.add_argument("--video-only", action="store_true")
    parser.add_argument("--codec", default="H264", choices=["H264", "VP8"])
    sys.exit(asyncio.run(publish(parser.parse_args())))


if __name__ == "__main__":
    main()
