#!/bin/sh
# Session 27, s27-missval (issue 12 item 7): README "Miss handlers and serving, measured", after the
# replay's operations are measured at its own shape and token counts (src/calibrate/replay-shape.ts)
# and the CPU worker reports its waits for a core. Otherwise as s27-drift/run.sh: after the warm device
# state (Backend.warmBuffers) was made the same for calibrate, the drift probes and the replay's passes.
# Run from this folder: sh run.sh N   (N: the run's number; each run calibrates afresh)
set -e
n=${1:-1}
M="node ../../../dist/src/cli/main.js"
log=run-$n.log
{ date -u; uptime; } > $log
$M calibrate --backend cpu --quick -o profile-$n.json >> $log 2>&1
{ date -u; uptime; } >> $log
$M validate ../../../scenarios/validate-miss-handlers.yaml --backend cpu --profile profile-$n.json --hidden 128 --max-tokens 80 --repeats 2 --warmup-steps 4 --no-report --out validate-miss-handlers-$n.json >> $log 2>&1
{ date -u; uptime; } >> $log
$M validate ../../../scenarios/validate-serving.yaml --backend cpu --profile profile-$n.json --hidden 128 --repeats 2 --warmup-steps 4 --no-report --out validate-serving-$n.json >> $log 2>&1
{ date -u; uptime; } >> $log
