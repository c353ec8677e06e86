#!/bin/sh
# The bare tools doing the least that makes a podcast-ready MP3 of one review: eSpeak NG speaks
# the text, ffmpeg measures its loudness, then brings it to -16 LUFS under a limiter and encodes
# it. benchmarks/run.py times this against `reviewcast render`.
#
#   FFMPEG=/path/to/ffmpeg sh benchmarks/bare.sh DIR    # DIR holds body.txt; gets raw.wav, out.mp3
#
# BARE_SYNTH replaces the speaking command (run.py's --quick mode uses it where eSpeak NG is not
# installed); it is called as: $BARE_SYNTH -w OUT.wav -f IN.txt
set -eu
dir=$1
# eval: BARE_SYNTH is a command line whose words may be quoted (a path with spaces)
eval "${BARE_SYNTH:-espeak-ng -v en-us}" -w '"$dir/raw.wav"' -f '"$dir/body.txt"'
integrated=$("$FFMPEG" -hide_banner -nostdin -nostats -i "$dir/raw.wav" -af ebur128 -f null - 2>&1 \
  | awk '$1 == "I:" { v = $2 } END { print v }')
gain=$(awk -v i="$integrated" 'BEGIN { printf "%.2f", -16 - i }')
"$FFMPEG" -hide_banner -nostdin -loglevel error -y -i "$dir/raw.wav" \
  -af "volume=${gain}dB,alimiter=limit=0.89" -ar 44100 -ac 1 -c:a libmp3lame -b:a 64k "$dir/out.mp3"
