#!/usr/bin/env bash
# Writes the same layered DAG of no-op (`true`) tasks twice: as a kairos /
# Argo Workflow (workflow.yaml, spec.parallelism = PARALLELISM) and as a
# build.ninja. Node j of layer l depends on nodes j and (7j+3) mod WIDTH of
# layer l-1, so every layer waits on the one before it.
#   gen_layered_dag.sh OUT_DIR NODES WIDTH PARALLELISM
set -euo pipefail
out=$1 nodes=$2 width=$3 parallelism=$4
layers=$(( (nodes + width - 1) / width ))
mkdir -p "$out"
awk -v nodes="$nodes" -v width="$width" -v layers="$layers" -v par="$parallelism" \
    -v wf="$out/workflow.yaml" -v nj="$out/build.ninja" 'BEGIN {
  print "apiVersion: argoproj.io/v1alpha1" > wf
  print "kind: Workflow" > wf
  print "metadata:\n  name: layered-dag" > wf
  print "spec:\n  entrypoint: main\n  parallelism: " par > wf
  print "  templates:\n    - name: noop\n      container: {image: debian:12, command: [\"true\"]}" > wf
  print "    - name: main\n      dag:\n        tasks:" > wf
  print "rule noop\n  command = true\n" > nj
  n = 0
  for (l = 0; l < layers && n < nodes; l++) {
    for (j = 0; j < width && n < nodes; j++) {
      name = "n" l "-" j
      if (l == 0) {
        print "          - {name: " name ", template: noop}" > wf
        print "build " name ": noop" > nj
      } else {
        a = "n" (l - 1) "-" j
        k = (7 * j + 3) % width
        b = "n" (l - 1) "-" k
        deps = (a == b) ? a : a ", " b
        print "          - {name: " name ", template: noop, dependencies: [" deps "]}" > wf
        ndeps = (a == b) ? a : a " " b
        print "build " name ": noop | " ndeps > nj
      }
      n++
    }
  }
}'
