"""`fracdet pipeline compile|submit|run`: the KFP pipeline as YAML, on a cluster, or here with kfp.local.

`submit` exit codes, which CI relies on: 0 the run succeeded and its model was blessed and
registered (or, without --wait, the run was created); 3 the run succeeded but the model was not
blessed; 1 the run failed, was cancelled, timed out, or could not be submitted (the platform
refused the credential or the run, or was out of reach); 2 a usage error, nothing sent (a bad
argument, or a credential given wrong: two at once, a token file that is missing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence

from fracdet.arguments import non_negative_int, positive_int
from fracdet_core import defaults
from fracdet_core.errors import ConfigError

EXIT_BLESSED = 0
EXIT_FAILED = 1
EXIT_NOT_BLESSED = 3
_EXIT_CODES = {"blessed": EXIT_BLESSED, "submitted": EXIT_BLESSED, "not_blessed": EXIT_NOT_BLESSED}


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "pipeline",
        help="compile the KFP pipeline, submit it to a cluster, or run it locally",
        description="Compile the fracdet Kubeflow pipeline to IR YAML (for `kfp run create` or the "
        "dashboard), submit it to a Kubeflow Pipelines backend, or run the same DAG on this machine with kfp.local.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_ActionParser)
    _add_compile(actions)
    _add_submit(actions)
    _add_run(actions)


def _add_compile(actions: argparse._SubParsersAction) -> None:
    compile_parser = actions.add_parser(
        "compile", help="write the pipeline's KFP IR YAML",
        description="Write the pipeline as KFP IR YAML, ready for `kfp run create` or an upload in the dashboard. "
        "The Kubernetes settings below are compiled in; everything about a run is a run parameter.",
    )
    compile_parser.add_argument("--out", required=True, help="YAML file to write (local path or gs:// URI)")
    _add_image(compile_parser)
    compile_parser.add_argument(
        "--gpu-node-selector", action="append", default=[], metavar="KEY=VALUE",
        help="node label the training pod (or each training worker) must match, "
        "e.g. cloud.google.com/gke-accelerator=nvidia-l4 (repeatable)",
    )
    compile_parser.add_argument(
        "--gpu-toleration", action="append", default=[], metavar="KEY[=VALUE][:EFFECT]",
        help="a taint the training pod (or each training worker) tolerates, besides nvidia.com/gpu:NoSchedule "
        "(repeatable; effect default NoSchedule)",
    )
    compile_parser.add_argument(
        "--gcs-secret", metavar="NAME",
        help="Kubernetes secret with a service-account key as key.json, mounted into every task "
        "(default: none; tasks use the run's service account through Workload Identity)",
    )
    compile_parser.add_argument(
        "--deadline", type=non_negative_int, default=defaults.DEADLINE_SECONDS, metavar="SECONDS",
        help="the whole run's deadline on the cluster, 0 for none (default: %(default)s)",
    )
    _add_spread_over_machines(compile_parser)
    compile_parser.set_defaults(run=_compile)


def _add_spread_over_machines(compile_parser: argparse.ArgumentParser) -> None:
    """The options of the steps that can run on several machines: ingest and training."""
    compile_parser.add_argument(
        "--ingest-parts", type=non_negative_int, default=defaults.INGEST_PARTS, metavar="K",
        help="fan ingest out into K parallel tasks of whole shards (set the run's `shards` to K or more); "
        "0 or 1: one ingest task (default: %(default)s)",
    )
    compile_parser.add_argument(
        "--training-job-api", default=defaults.TRAINING_JOB_API, metavar="trainjob|tfjob",
        help="what a run with train_workers > 1 creates: a Kubeflow Trainer v2 TrainJob, or a Training Operator v1 TFJob "
        "(default: %(default)s)",
    )
    compile_parser.add_argument(
        "--train-workers-timeout", type=non_negative_int, default=0, metavar="SECONDS",
        help="how long a train step on several machines waits for its workers before it fails and deletes their job; "
        "shorter than --deadline (default: 0, nine tenths of --deadline, or a day without one)",
    )


def _add_submit(actions: argparse._SubParsersAction) -> None:
    submit_parser = actions.add_parser(
        "submit", help="run the pipeline on a Kubeflow Pipelines backend",
        description="Create a run of the pipeline on a Kubeflow Pipelines backend, optionally wait for it, and exit "
        "with its outcome: 0 blessed and registered (or submitted, without --wait), 3 succeeded but not blessed, "
        "1 failed or timed out, or the platform refused the credential or the run; 2 usage error, nothing sent.",
        epilog="Arguments are checked against the pipeline's parameter types before anything is submitted.",
    )
    submit_parser.add_argument("--host", required=True, help="the KFP API, e.g. http://localhost:8080 (kubectl port-forward)")
    submit_parser.add_argument("--experiment", required=True, help="experiment to file the run under (created if new)")
    source = submit_parser.add_mutually_exclusive_group()
    source.add_argument("--pipeline-file", help="a compiled pipeline (default: compile it now, with --image)")
    _add_image(source)
    submit_parser.add_argument("--run-name", help="the run's name in the dashboard (default: file name and time)")
    submit_parser.add_argument("--service-account", help="Kubernetes service account the run's pods use (Workload Identity)")
    submit_parser.add_argument("--namespace", help="the profile namespace, on a multi-user Kubeflow")
    _add_credentials(submit_parser)
    submit_parser.add_argument("--wait", action="store_true", help="wait for the run to finish and exit with its outcome")
    submit_parser.add_argument("--timeout", type=positive_int, metavar="SECONDS",
                               help="stop waiting after this long and exit 1 (implies --wait; the run goes on)")
    submit_parser.add_argument("--outcome-file", help='write {"run_id", "state", "outcome", "url"} as JSON here')
    submit_parser.add_argument("arguments", nargs="*", metavar="key=value", help="pipeline parameters, e.g. data_uri=gs://b/xr")
    submit_parser.set_defaults(run=_submit)


def _add_credentials(submit_parser: argparse.ArgumentParser) -> None:
    """The platform's credential: flags that name no secret; the secrets come from files and the environment."""
    group = submit_parser.add_argument_group(
        "authentication", "A multi-user Kubeflow wants one credential (docs/kubeflow.md#authentication): a Bearer token "
        "(--token-file, or $KFP_EXISTING_TOKEN), a Dex login ($KFP_DEX_USERNAME and $KFP_DEX_PASSWORD) or an IAP client ID. "
        "With none given, the ServiceAccount token volume at $KF_PIPELINES_SA_TOKEN_PATH (default "
        "/var/run/secrets/kubeflow/pipelines/token) is sent where it exists. The line `auth:` says which is used.",
    )
    group.add_argument("--token-file", metavar="PATH", help="a file holding a Bearer token, e.g. from `kubectl create token`, "
                       "read again for every request")
    group.add_argument("--iap-client-id", metavar="CLIENT_ID", help="Kubeflow on GKE behind Identity-Aware Proxy: the OAuth "
                       "client ID of the IAP (default: $KF_PIPELINES_IAP_OAUTH2_CLIENT_ID); the ID token comes from Google's "
                       "application default credentials")


class _ActionParser(argparse.ArgumentParser):
    """The parser of a `pipeline` action, which may add options just before it parses.

    `run`'s options are the pipeline's parameters, read from the pipeline itself. Building it
    imports kfp and every component (about a second), which no other command should pay for.
    """

    add_late_options: Callable[[argparse.ArgumentParser], None] | None = None

    def parse_known_args(
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None,
    ) -> tuple[argparse.Namespace, list[str]]:
        if self.add_late_options is not None:
            add, self.add_late_options = self.add_late_options, None
            add(self)
        return super().parse_known_args(args, namespace)


def _add_run(actions: argparse._SubParsersAction) -> None:
    run_parser = actions.add_parser(
        "run", help="run the whole pipeline on this machine with kfp.local", allow_abbrev=False,
        description="Run every step of the pipeline here, each in a subprocess of this Python environment. "
        "Prints one line per task as it finishes, then a summary; a failed task's log is shown whole.",
        epilog="Every pipeline parameter is an option; `fracdet pipeline submit` takes the same names as key=value.",
    )
    run_parser.add_argument("--root", default="runs/local", help="local folder for every task's outputs (default: %(default)s)")
    run_parser.add_argument("--verbose", action="store_true", help="show kfp.local's log of every task (inputs, outputs, "
                            "the task's own output) as it runs")
    run_parser.add_late_options = _add_pipeline_parameters
    run_parser.set_defaults(run=_run)


def _add_pipeline_parameters(parser: argparse.ArgumentParser) -> None:
    from fracdet.parameter_options import add_parameter_options
    from fracdet_pipelines.local_run import local_pipeline
    from fracdet_pipelines.parameters import defined_parameters

    add_parameter_options(parser, defined_parameters(local_pipeline()))


def _add_image(parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup) -> None:
    parser.add_argument("--image", metavar="REPOSITORY:TAG",
                        help="CPU image of the components; training gets REPOSITORY:TAG-gpu (default: the package's own tags)")


def _compile(args: argparse.Namespace) -> int:
    from fracdet_pipelines.cluster import ClusterConfig, Toleration
    from fracdet_pipelines.compile import compile_pipeline

    selector = []
    for pair in args.gpu_node_selector:
        key, has_value, value = pair.partition("=")
        if not has_value:
            raise ConfigError(f"--gpu-node-selector takes KEY=VALUE, got {pair!r}")
        selector.append((key, value))
    defaults = ClusterConfig()
    cluster = ClusterConfig(
        gpu_node_selector=tuple(selector),
        gpu_tolerations=defaults.gpu_tolerations + tuple(Toleration.parse(text) for text in args.gpu_toleration),
        gcs_secret=args.gcs_secret, deadline_seconds=args.deadline, ingest_parts=args.ingest_parts,
        training_job_api=args.training_job_api, train_workers_timeout_seconds=args.train_workers_timeout,
    )
    print(f"pipeline: {compile_pipeline(args.out, args.image, cluster)}")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from fracdet_pipelines.compile import compile_pipeline
    from fracdet_pipelines.kfp_answers import SubmitError
    from fracdet_pipelines.parameters import parse_arguments, pipeline_parameters

    with tempfile.TemporaryDirectory(prefix="fracdet-submit-") as folder:
        pipeline_file = args.pipeline_file or compile_pipeline(os.path.join(folder, "pipeline.yaml"), args.image)
        parameters = pipeline_parameters(pipeline_file)
        arguments = parse_arguments(args.arguments, parameters)
        try:
            report = _submit_and_wait(args, pipeline_file, arguments, parameters)
        except SubmitError as error:
            print(f"fracdet pipeline: error: {error}", file=sys.stderr)
            return EXIT_FAILED
    print(f"state: {report.state}\noutcome: {report.outcome}")
    if args.outcome_file:
        from fracdet_core import storage

        record = {"run_id": report.run_id, "state": report.state, "outcome": report.outcome, "url": report.url}
        storage.write_text(args.outcome_file, json.dumps(record, indent=2) + "\n")
    return _EXIT_CODES.get(report.outcome, EXIT_FAILED)


def _submit_and_wait(args: argparse.Namespace, pipeline_file: str, arguments: dict, parameters: dict):  # noqa: ANN202 - RunReport
    """Create the run with the platform's credential and, with --wait or --timeout, wait for its outcome."""
    from fracdet_pipelines.kfp_credentials import choose_credential, obtain
    from fracdet_pipelines.submit import TIMED_OUT, connect, submit, wait

    credential = choose_credential(args.token_file, args.iap_client_id, os.environ)
    print(f"auth: {credential.describe()}", flush=True)
    connection = connect(args.host, obtain(credential, args.host, os.environ), args.namespace)
    report = submit(connection, pipeline_file, arguments, experiment=args.experiment, run_name=args.run_name,
                    service_account=args.service_account)
    print(f"run: {report.run_id}\nurl: {report.url}", flush=True)
    if args.wait or args.timeout:
        report = wait(connection, report, timeout_s=args.timeout or float("inf"))
        if report.outcome != TIMED_OUT:
            report = _with_outcome(report, arguments, parameters)
    return report


def _with_outcome(report, arguments: dict, parameters: dict):  # noqa: ANN001, ANN202 - pipelines.submit.RunReport
    """The finished run's outcome from the record under the registry its arguments name."""
    from fracdet_components.run_records import FAILED
    from fracdet_core.errors import StorageError
    from fracdet_pipelines.parameters import argument_value
    from fracdet_pipelines.submit import finished_outcome

    registry_uri = str(argument_value("registry_uri", arguments, parameters))
    model_name = str(argument_value("model_name", arguments, parameters))
    try:
        return finished_outcome(report, registry_uri, model_name)
    except StorageError as error:  # the run finished; only its record is out of reach from here
        print(f"fracdet pipeline: error: cannot read the outcome of run {report.run_id}: {error}", file=sys.stderr)
        return dataclasses.replace(report, outcome=FAILED)


def _run(args: argparse.Namespace) -> int:
    from fracdet.parameter_options import parameter_arguments
    from fracdet_pipelines.local_run import local_pipeline, run_locally, run_summary
    from fracdet_pipelines.parameters import defined_parameters

    arguments = parameter_arguments(args, defined_parameters(local_pipeline()))
    run = run_locally(args.root, arguments, verbose=args.verbose)
    print(run_summary(run))
    print(f"ingested dataset: {run.outputs['dataset']}")
    print(f"trained model: {run.outputs['model']}/saved_model")
    print(f"all task outputs: {run.folder}")
    return 0
