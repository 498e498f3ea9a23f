#!/bin/bash
cd /work/wt/d-drift
M="node dist/src/cli/main.js"
S=scenarios/validate-mixtral.yaml
for round in 1 2 3; do
  echo "== calibrate $round $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  $M calibrate --backend cpu -o /tmp/drift/cpu-$round.json > /tmp/drift/cal-$round.txt 2>/tmp/drift/cal-$round.err
  echo "== on $round $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  $M validate $S --backend cpu --profile /tmp/drift/cpu-$round.json --max-tokens 80 --repeats 2 --no-report --out /tmp/drift/on-$round.json > /tmp/drift/on-$round.txt 2>/tmp/drift/on-$round.err
  echo "== off $round $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  $M validate $S --backend cpu --profile /tmp/drift/cpu-$round.json --max-tokens 80 --repeats 2 --no-report --no-interleave --out /tmp/drift/off-$round.json > /tmp/drift/off-$round.txt 2>/tmp/drift/off-$round.err
  echo "== on-later $round $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  $M validate $S --backend cpu --profile /tmp/drift/cpu-$round.json --max-tokens 80 --repeats 2 --no-report --out /tmp/drift/onb-$round.json > /tmp/drift/onb-$round.txt 2>/tmp/drift/onb-$round.err
done
echo "== done $(date -u +%T)"
