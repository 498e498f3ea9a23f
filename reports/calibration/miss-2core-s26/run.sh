#!/bin/sh
# How the figures of README "Miss handlers and serving, measured" were made (2-core VM, CPU backend).
set -e
moesim calibrate --backend cpu --quick -o profile.json
moesim validate ../../../scenarios/validate-miss-handlers.yaml --backend cpu --profile profile.json --hidden 128 --max-tokens 100 --repeats 2 --warmup-steps 4 --no-report --out validate-miss-handlers.json
moesim validate ../../../scenarios/validate-serving.yaml --backend cpu --profile profile.json --hidden 128 --repeats 2 --warmup-steps 4 --no-report --out validate-serving.json
