#!/usr/bin/env bash
# Run `fracdet pipeline submit --wait ...` (the arguments) and turn its exit status into this
# GitHub Actions step's result:
#   0 blessed and registered -> outcome=blessed, the step passes
#   3 ran, but not blessed   -> outcome=not_blessed, a warning annotation, the step passes
#   1 failed or timed out    -> outcome=failed, an error annotation, the step fails
#   2 usage error, or other  -> outcome=error, an error annotation, the step fails
# "Not blessed" is the gate working, not CI breaking: it stays green and visible, and a later
# job that should act only on a new model reads the `outcome` output.
set -uo pipefail

"$@"
status=$?
case "$status" in
  0) outcome=blessed;     message="the pipeline ran and the model was blessed and registered" ;;
  3) outcome=not_blessed; message="the pipeline ran, but the model was not blessed: nothing was registered" ;;
  1) outcome=failed;      message="the pipeline run failed or did not finish in time" ;;
  *) outcome=error;       message="the submission was refused (exit $status)" ;;
esac

echo "outcome=$outcome" >> "${GITHUB_OUTPUT:?}"
echo "exit_code=$status" >> "$GITHUB_OUTPUT"
echo "### Retraining: \`$outcome\` ($message)" >> "${GITHUB_STEP_SUMMARY:?}"
case "$outcome" in
  blessed) echo "::notice title=Retraining::$message" ;;
  not_blessed) echo "::warning title=Retraining: not blessed::$message" ;;
  *) echo "::error title=Retraining: $outcome::$message"; exit "$status" ;;
esac
