"""``cofirec evaluate``: a saved model on a test file, with the transform the model was trained with."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cofirec.cli.common import read_file, warnings_as_notes
from cofirec.cli.options import AllowUnknownOpt, ColumnsOpt, EncodingOpt, JsonOpt, OnBadLinesOpt, SepOpt, StrictOpt, parse_int_list
from cofirec.cli.output import emit_json, fmt_number, stdout_console, titled_table
from cofirec.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from cofirec.data.dataset import Interactions

ModelDirArg = Annotated[Path, typer.Argument(metavar="DIR", help="Model folder written by 'cofirec train --out'.", show_default=False)]


# ---------------------------------------------------------------------- evaluate
def evaluate(
    model_dir: ModelDirArg,
    test: Annotated[Path, typer.Option("--test", help="Test ratings file (e.g. DIR/test.tsv).", show_default=False)],
    protocol: Annotated[
        str | None, typer.Option("--protocol", help="rating | ranking | sampled | binary (default: from the model).", show_default=False)
    ] = None,
    negatives: Annotated[Path | None, typer.Option("--negatives", help="NCF .test.negative file (sampled protocol).", show_default=False)] = None,
    sample_negatives: Annotated[
        int | None, typer.Option("--sample-negatives", help="Sample N negatives per test row (sampled protocol).", show_default=False)
    ] = None,
    k: Annotated[str, typer.Option("--k", help="Cut-offs of top-k metrics, e.g. 10,20.")] = "10",
    relevance: Annotated[
        float | None, typer.Option("--relevance", help="Test ratings >= T count as relevant (ranking) or as likes (binary).", show_default=False)
    ] = None,
    strict: StrictOpt = False,
    allow_unknown: AllowUnknownOpt = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --sample-negatives.")] = 0,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    on_bad_lines: OnBadLinesOpt = "error",
    json_out: JsonOpt = False,
) -> None:
    """Evaluate a saved model on a test file (same transforms as in training).

    More than 10% of the test users or items unknown to the model prints a warning (--strict: an error);
    all of them unknown is an error unless --allow-unknown. With --negatives the test pairs still come
    from --test and their negatives are looked up in the file by user and held-out item.
    """
    import cofirec
    from cofirec.data.targets import align_to_model, reads_labels
    from cofirec.evaluate import PROTOCOLS, default_protocol

    ks = parse_int_list(k, "--k")
    if protocol is not None and protocol not in PROTOCOLS:
        raise ConfigError(f"--protocol {protocol!r}: use one of {', '.join(PROTOCOLS)}")
    if negatives is not None and sample_negatives is not None:
        raise ConfigError("give --negatives FILE or --sample-negatives N, not both")
    if sample_negatives is not None and sample_negatives <= 0:
        raise ConfigError(f"--sample-negatives {sample_negatives}: expected a positive number")
    model = cofirec.load(model_dir)
    _check_test_split(model_dir, test)
    with warnings_as_notes():
        test_data = align_to_model(
            read_file(test, columns=columns, on_bad_lines=on_bad_lines, sep=sep, encoding=encoding, ignore_label=reads_labels(model)), model
        )
    protocol = protocol or default_protocol(model, sampled=negatives is not None or sample_negatives is not None)
    negs = None
    if protocol == "sampled":
        negs = _negatives_for(model, test_data, negatives, sample_negatives, seed)
    elif negatives is not None or sample_negatives is not None:
        raise ConfigError(f"negatives apply to the sampled protocol, not {protocol!r}")
    from cofirec.evaluate.runner import evaluate as run_evaluation
    from cofirec.evaluate.unknown import UnknownReport

    metrics = run_evaluation(
        model,
        test_data,
        protocol=protocol,  # type: ignore[arg-type]  # checked against PROTOCOLS above
        k=ks,
        negatives=negs,
        relevance_threshold=relevance,
        strict=strict,
        allow_unknown=allow_unknown,
    )
    if json_out:
        emit_json({**metrics, "unknown": UnknownReport.from_metrics(metrics).as_dict()})
        return
    from rich.markup import escape

    table = titled_table(escape(f"{getattr(model, 'name', 'model')} on {test.name} ({protocol} protocol, {len(test_data):,} test rows)"))
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, fmt_number(value) if not isinstance(value, float) else f"{value:.4f}")
    stdout_console().print(table)


def _check_test_split(model_dir: Path, test: Path) -> None:
    """Refuse a test file from another split of the data the model was trained on (see check_test_file)."""
    from cofirec.data.split_folder import check_test_file
    from cofirec.models.artifact import training_of

    check_test_file(model_dir, training_of(model_dir), test)


def _negatives_for(model: Any, test: "Interactions", path: Path | None, n: int | None, seed: int):
    if path is not None:
        if not path.exists():
            raise FileNotFoundError(2, "no such negatives file", str(path))
        from cofirec.data.negatives import read_ncf_negatives

        return read_ncf_negatives(path)
    from cofirec.data.negatives import sample_negatives

    return sample_negatives(model.seen_interactions(), test, n or 99, seed)
