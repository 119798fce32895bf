#!/usr/bin/env bash
# Makes the emulator's H.264/H.265 fixtures once, with Debian's ffmpeg (libx264, libx265), so that
# `npm start` and the tests need no ffmpeg. `repeat-headers=1:aud=1` gives the NAL order Amcrest cameras
# send (AUD, SPS, PPS, SEI, IDR; go2rtc's h264/rtp.go notes it for the IP4M-1051); no B-frames, as cameras
# stream. Run from the repository root: scripts/make-rtsp-fixtures.sh
set -euo pipefail
out=fixtures/rtsp
mkdir -p "$out"
common=(-hide_banner -loglevel error -y -f lavfi)
x264=(-c:v libx264 -profile:v main -preset veryfast -tune zerolatency -bf 0 -sc_threshold 0 -pix_fmt yuv420p)

# Main stream: 640x360, 25 fps, 1 s GOP, 4 s.
ffmpeg "${common[@]}" -i testsrc2=size=640x360:rate=25 -t 4 "${x264[@]}" -g 25 -keyint_min 25 \
  -x264-params repeat-headers=1:aud=1 -b:v 500k -maxrate 500k -bufsize 250k -f h264 "$out/main.h264"
# Sub stream: 320x180, 25 fps, 1 s GOP, 4 s.
ffmpeg "${common[@]}" -i testsrc2=size=320x180:rate=25 -t 4 "${x264[@]}" -g 25 -keyint_min 25 \
  -x264-params repeat-headers=1:aud=1 -b:v 150k -maxrate 150k -bufsize 75k -f h264 "$out/sub.h264"
# A long GOP ("smart codec" cameras: frigate#11041): 640x360, 25 fps, one keyframe in 10 s.
ffmpeg "${common[@]}" -i testsrc2=size=640x360:rate=25 -t 10 "${x264[@]}" -g 250 -keyint_min 250 \
  -x264-params repeat-headers=1:aud=1 -b:v 250k -maxrate 250k -bufsize 125k -f h264 "$out/long-gop.h264"
# H.265 main stream: 640x360, 25 fps, 1 s GOP, 4 s.
ffmpeg "${common[@]}" -i testsrc2=size=640x360:rate=25 -t 4 -c:v libx265 -preset veryfast -pix_fmt yuv420p \
  -x265-params repeat-headers=1:aud=1:keyint=25:min-keyint=25:bframes=0:scenecut=0:log-level=error \
  -b:v 400k -f hevc "$out/main.h265"
# The demo's main streams at its two profiles' sizes (the IP2M-841B's 1920x1080, the IPM-723W's 1280x960),
# so the stream, the snapshot and the config agree: 25 fps, 1 s GOP, 4 s, 1 Mbit/s.
for size in 1920x1080 1280x960; do
  ffmpeg "${common[@]}" -i "testsrc2=size=$size:rate=25" -t 4 "${x264[@]}" -g 25 -keyint_min 25 \
    -x264-params repeat-headers=1:aud=1 -b:v 1000k -maxrate 1000k -bufsize 500k -f h264 "$out/main-$size.h264"
done
ls -l "$out"
