#!/usr/bin/env bash
# Follow a Kubernetes Job of the train-workers workflow to its end: wait for its pod to start,
# stream the pod's log into the step's log, then pass if the Job completed, or fail with an error
# annotation and the Job's description if it failed or did not end in time.
# Usage: kind-job.sh NAMESPACE JOB TIMEOUT_SECONDS   (kubectl on PATH, pointed at the cluster)
set -euo pipefail
namespace=$1 job=$2 timeout_s=$3
deadline=$((SECONDS + timeout_s))

# Complete or Failed once the Job has ended (Kubernetes 1.31+ sets SuccessCriteriaMet or
# FailureTarget first), empty while it runs.
job_state() {
  kubectl get job "$job" -n "$namespace" -o jsonpath='{.status.conditions[?(@.status=="True")].type}' \
    | tr ' ' '\n' | grep -xE 'Complete|Failed' || true
}

# A container's log can be followed once it has started (or already ended).
until kubectl logs "job/$job" -n "$namespace" --tail=0 >/dev/null 2>&1; do
  if [ -n "$(job_state)" ] || ((SECONDS >= deadline)); then break; fi
  sleep 5
done
if ((SECONDS < deadline)); then
  timeout "$((deadline - SECONDS))" kubectl logs -f "job/$job" -n "$namespace" || true
fi

state="$(job_state)"
while [ -z "$state" ] && ((SECONDS < deadline)); do
  sleep 2
  state="$(job_state)"
done
case "$state" in
  Complete) echo "$job completed" ;;
  Failed)
    echo "::error title=$job failed::$(kubectl get job "$job" -n "$namespace" -o jsonpath='{.status.conditions[?(@.type=="Failed")].message}')"
    kubectl describe job "$job" -n "$namespace"
    exit 1 ;;
  *)
    echo "::error title=$job timed out::$job did not end within ${timeout_s} s"
    kubectl describe job "$job" -n "$namespace"
    kubectl describe pods -n "$namespace" -l "job-name=$job"
    exit 1 ;;
esac
