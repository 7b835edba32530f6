"""Export signatures to MLIR with iree-turbine's exporter: `generate_mlir` and `boo-generate`.

This is the documented, general export path (aten ops through torch-mlir). It handles every
signature ConvSignature can express; the compile cache may choose a faster IR of its own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .conv import ConvSignature, Mode
from .errors import BooError

__all__ = ["generate_mlir", "pipeline_string", "main"]


def pipeline_string(pipeline: str | list[str] | None) -> str | None:
    """`["torch-to-iree", "x"]` or `"torch-to-iree,x"` -> `builtin.module(torch-to-iree,x)`;
    a full `builtin.module(...)` string is used as is."""
    if not pipeline:
        return None
    if isinstance(pipeline, str):
        if pipeline.strip().startswith("builtin.module("):
            return pipeline.strip()
        pipeline = [p.strip() for p in pipeline.split(",") if p.strip()]
    return "builtin.module(" + ",".join(pipeline) + ")"


def generate_mlir(
    signature: ConvSignature,
    output_path: str | os.PathLike | None = None,
    import_pipeline: str | list[str] | None = None,
    print_ir: bool = False,
):
    """Export `signature` to MLIR (torch dialect, or lowered by `import_pipeline`).

    The module's public function is named `signature.func_name`. Returns the MLIR module
    operation; writes it to `output_path` and/or prints it when asked.
    """
    # Imported here: the exporter pulls in torch.export and the compiler (about a second).
    from iree.compiler import passmanager
    from iree.turbine.aot import export

    module = signature.get_nn_module()
    args = signature.get_sample_conv_args(splat_value=0)
    with warnings.catch_warnings():
        # torch.export's pytree deprecation chatter, once per export.
        warnings.simplefilter("ignore", FutureWarning)
        exported = export(module, args=args, function_name=signature.func_name)
    mlir = exported.mlir_module
    text_pipeline = pipeline_string(import_pipeline)
    if text_pipeline:
        with mlir.context:
            try:
                pm = passmanager.PassManager.parse(text_pipeline)
            except Exception as e:  # the binding raises a plain ValueError/RuntimeError
                raise BooError(f"--pipeline: cannot parse {text_pipeline!r}: {e}") from None
            pm.run(mlir.operation if hasattr(mlir, "operation") else mlir)
    if output_path is not None:
        path = Path(output_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(str(mlir))
        os.replace(tmp, path)
    if print_ir:
        print(mlir)
    return mlir


# ----------------------------------------------------------------------------- CLI


@dataclass
class _Job:
    label: str  # where it came from: file:line
    command: str
    signature: ConvSignature | None
    error: str | None = None


def _collect(args) -> list[_Job]:
    from .grammar import parse_command, parse_commands_file

    lines: list[tuple[str, str]] = []
    if args.command:
        lines.append(("-c", args.command))
    if args.commands_file:
        lines += [(f"{args.commands_file}:{no}", text) for no, text in parse_commands_file(args.commands_file)]
    jobs: list[_Job] = []
    seen: set[ConvSignature] = set()
    want_mode = Mode.parse(args.forw) if args.forw else None
    for label, text in lines:
        try:
            sigs = parse_command(text).signatures
        except BooError as e:
            jobs.append(_Job(label, text, None, str(e)))
            continue
        for sig in sigs:
            if args.num_spatial_dims and sig.num_spatial_dims != args.num_spatial_dims:
                continue
            if want_mode and sig.mode is not want_mode:
                continue
            if sig not in seen:
                seen.add(sig)
                jobs.append(_Job(label, text, sig))
    return jobs


def _export_one(sig_dict: dict, out: str, pipeline: str | None) -> str:
    sig = ConvSignature.from_dict(sig_dict)
    generate_mlir(sig, output_path=out, import_pipeline=pipeline)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="boo-generate",
        description="Export MIOpenDriver conv signatures to MLIR with iree-turbine's exporter.",
    )
    p.add_argument("-o", "--output-dir", default="boo_mlir", help="directory for the .mlir files")
    p.add_argument("-f", "--commands-file", help="file of MIOpenDriver command lines (# comments)")
    p.add_argument("-c", "--command", help="one command line: print its IR to stdout")
    p.add_argument("-N", "--num-spatial-dims", type=int, choices=[1, 2, 3], help="keep only this many spatial dims")
    p.add_argument("-F", "--forw", choices=["fwd", "bwd", "wrw"], help="keep only this direction")
    p.add_argument("--pipeline", help="pass pipeline: names (comma separated) or a full builtin.module(...) string")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    p.add_argument("--force", action="store_true", help="re-export files that already exist")
    args = p.parse_args(argv)
    if not args.command and not args.commands_file:
        p.error("give -c COMMAND or -f FILE")

    try:
        jobs = _collect(args)
    except OSError as e:
        print(f"boo-generate: {e}", file=sys.stderr)
        return 2

    if args.command and not args.commands_file:
        # Single command: print the IR, as the seed's generate.py does.
        bad = [j for j in jobs if j.error]
        if bad:
            print(f"boo-generate: {bad[0].error}", file=sys.stderr)
            return 1
        if not jobs:
            print("boo-generate: the filters leave nothing to export", file=sys.stderr)
            return 1
        try:
            for j in jobs:
                generate_mlir(j.signature, import_pipeline=args.pipeline, print_ir=True)
        except BooError as e:
            print(f"boo-generate: {e}", file=sys.stderr)
            return 1
        return 0

    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _export_many(jobs, out_dir, args)


def _export_many(jobs: list[_Job], out_dir: Path, args) -> int:
    from tqdm import tqdm

    ok = skipped = 0
    failures: list[tuple[str, str]] = []

    def fail(name: str, job: _Job, reason: str) -> None:
        (out_dir / f"{name}.error.txt").write_text(f"{job.label}: {job.command}\n\n{reason}\n")
        failures.append((name, reason.strip().splitlines()[-1] if reason.strip() else "failed"))

    todo: list[tuple[_Job, Path]] = []
    for i, job in enumerate(jobs):
        if job.error:
            fail(f"invalid_{i:04d}", job, job.error)
            continue
        path = out_dir / f"{job.signature.func_name}.mlir"
        if path.exists() and not args.force:
            skipped += 1
            continue
        todo.append((job, path))

    pipeline = args.pipeline
    if todo:
        # spawn: torch and the MLIR context are not fork-safe once initialised.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(todo))), mp_context=ctx) as pool:
            futures = {
                pool.submit(_export_one, job.signature.as_dict(), str(path), pipeline): (job, path)
                for job, path in todo
            }
            bar = tqdm(as_completed(futures), total=len(futures), desc="export", unit="sig", file=sys.stderr)
            for fut in bar:
                job, path = futures[fut]
                try:
                    fut.result()
                    ok += 1
                except Exception as e:  # noqa: BLE001 - one failure must not stop the batch
                    reason = "".join(traceback.format_exception_only(type(e), e))
                    fail(job.signature.func_name, job, reason)
    print(
        f"boo-generate: {ok} exported, {skipped} already present, {len(failures)} failed -> {out_dir}"
    )
    for name, reason in failures:
        print(f"  FAILED {name}: {reason}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
