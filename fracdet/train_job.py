"""`fracdet train-job`: train on several workers from a terminal, through the cluster of the current kubeconfig."""

from __future__ import annotations

import argparse

from fracdet.arguments import non_negative_int, positive_int
from fracdet_components.worker_jobs import APIS

DEFAULT_TIMEOUT_S = 24 * 3600


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train-job",
        help="train on several workers as a Kubeflow TrainJob or TFJob",
        description=(
            "Launch `fracdet train` on several workers through the Kubernetes API of the current kubeconfig (the "
            "TrainJob on fracdet's TrainingRuntime, or a Training Operator TFJob), stream the workers' logs, wait for "
            "the job and delete it, whatever the outcome. The workers read --data and write --out themselves: use gs:// "
            "URIs, or paths on a volume claim mounted with --volume-claim."
        ),
        epilog="example: fracdet train-job --workers 2 --image REPO/fracdet:TAG-gpu --gpus 1 -- "
               "--data gs://BUCKET/ingest --class-weights gs://BUCKET/eda/class_weights.json --out gs://BUCKET/model",
    )
    parser.add_argument("--workers", type=_workers, required=True, help="training pods, 2 or more (worker 0 is the chief)")
    parser.add_argument("--image", required=True, help="the workers' container image (the GPU image for GPU nodes)")
    parser.add_argument("--api", choices=APIS, default="trainjob",
                        help="Kubeflow Trainer's TrainJob, or Training Operator v1's TFJob (default: %(default)s)")
    parser.add_argument("--namespace", help="default: the kubeconfig context's namespace")
    parser.add_argument("--name", help="the job's name (default: derived from the options, so a rerun adopts a job left running)")
    parser.add_argument("--gpus", type=non_negative_int, default=0, help="GPUs per worker (default: %(default)s)")
    parser.add_argument("--gpu-type", default="nvidia.com/gpu", help="the GPU resource name (default: %(default)s)")
    parser.add_argument("--volume-claim", action="append", default=[], type=_volume_claim, metavar="CLAIM:MOUNT_PATH",
                        help="mount a PersistentVolumeClaim into every worker; repeatable")
    parser.add_argument("--timeout", type=positive_int, default=DEFAULT_TIMEOUT_S,
                        help="seconds the job may run before it is deleted and the command fails (default: %(default)s)")
    parser.add_argument("--poll", type=float, default=10.0, metavar="SECONDS",
                        help="seconds between reads of the job's status and its workers' logs (default: %(default)s)")
    parser.add_argument("train_options", nargs="*", metavar="TRAIN_OPTION",
                        help="after --: the `fracdet train` options every worker runs with (--data and --out at least)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fracdet_components.job_runner import cluster_api_client, run_worker_job
    from fracdet_components.worker_jobs import WorkerJob, job_name

    train_options = args.train_options
    out = _parsed_train_options(train_options).out
    api_client, context_namespace = cluster_api_client()
    namespace = args.namespace or context_namespace
    name = args.name or job_name("\0".join([args.api, namespace, args.image, str(args.workers), *train_options]))
    job = WorkerJob(api=args.api, name=name, namespace=namespace, workers=args.workers, image=args.image,
                    train_args=tuple(train_options), **_pod_settings(args))
    run_worker_job(job, api_client, timeout_s=args.timeout, poll_s=args.poll, log=lambda line: print(line, flush=True))
    print(f"trained on {args.workers} workers; model: {out}")
    return 0


def _parsed_train_options(options: list[str]) -> argparse.Namespace:
    """`options` as `fracdet train`'s own parser reads them, so a typo fails here rather than in every worker."""
    from fracdet import train

    probe = argparse.ArgumentParser(prog="fracdet train-job ... --", add_help=False)
    train.add_commands(probe.add_subparsers())
    return probe.parse_args(["train", *options])


def _pod_settings(args: argparse.Namespace) -> dict[str, object]:
    """Each worker's GPUs (tolerating the GPU taint, as the pipeline's train task does) and volume claims."""
    settings: dict[str, object] = {}
    if args.gpus:
        settings["resources"] = {"limits": {args.gpu_type: str(args.gpus)}}
        settings["tolerations"] = ({"key": args.gpu_type, "operator": "Exists", "effect": "NoSchedule"},)
    claims = list(enumerate(args.volume_claim))
    settings["volumes"] = tuple({"name": f"claim-{index}", "persistentVolumeClaim": {"claimName": claim}}
                                for index, (claim, _) in claims)
    settings["volume_mounts"] = tuple({"name": f"claim-{index}", "mountPath": path} for index, (_, path) in claims)
    return settings


def _workers(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"a training job needs 2 or more workers, got {value}; for 1 run `fracdet train`")
    return value


def _volume_claim(text: str) -> tuple[str, str]:
    claim, _, path = text.partition(":")
    if not claim or not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected CLAIM:/MOUNT/PATH, got {text!r}")
    return claim, path
