"""Command-line option types shared by the commands, and parsers of small option values."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from cofirec.errors import ConfigError

# ---------------------------------------------------------------------- option types (shared by commands)
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="COFIREC_DATA", help="Folder holding named datasets (env COFIREC_DATA).", show_default=False),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option("--columns", help="Column order of a plain ratings file, e.g. user,item,rating,timestamp.", show_default=False),
]
SepOpt = Annotated[
    str | None,
    typer.Option(
        "--sep", help="Field separator of a ratings file: a character or string, or tab, comma, space, pipe, semicolon (default: detected).", show_default=False
    ),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="Text encoding of a ratings file that is not UTF-8, e.g. latin-1.", show_default=False),
]
OnBadLinesOpt = Annotated[
    str,
    typer.Option("--on-bad-lines", help="Malformed lines: 'error' (default, names file and line) or 'skip' (counted)."),
]
DownloadOpt = Annotated[
    bool,
    typer.Option("--download/--no-download", help="Download a named dataset that is not present locally."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
MetadataOpt = Annotated[
    Path | None,
    typer.Option("--metadata", help="MovieLens folder with titles and side features for the ids of a plain file.", show_default=False),
]
ImplicitOpt = Annotated[bool, typer.Option("--implicit", help="Treat every interaction as a positive (ratings dropped).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="More than 10% of test users or items unknown to the model is an error, not a warning.")]
AllowUnknownOpt = Annotated[bool, typer.Option("--allow-unknown", help="Evaluate even when every test user (or item) is unknown to the model (a warning).")]
TargetOpt = Annotated[
    str | None,
    typer.Option("--target", help="explicit | implicit[:MIN] | binary:T (rating >= T is a like; bare 'binary' only for 0/1 label data).", show_default=False),
]

# ---------------------------------------------------------------------- options of compare and tune
DatasetOpt = Annotated[str | None, typer.Option("--dataset", "-d", help="Dataset name (ml-100k, ...), MovieLens folder or ratings file.", show_default=False)]
TrainOpt = Annotated[Path | None, typer.Option("--train", help="Training file (with --test; no split is made).", show_default=False)]
TestOpt = Annotated[Path | None, typer.Option("--test", help="Test file (with --train).", show_default=False)]
SplitOpt = Annotated[
    str | None,
    typer.Option("--split", help="Split of --dataset: random | user | loo | kfold | temporal | user-temporal (default random).", show_default=False),
]
CutoffOpt = Annotated[
    str | None,
    typer.Option("--cutoff", help="--split temporal: train before this time, test from it on (1998-03-01, UTC, or unix seconds).", show_default=False),
]
ColdOpt = Annotated[
    str | None,
    typer.Option("--cold", help="--split temporal: test users/items first seen after the cut-off: separate (default) | drop.", show_default=False),
]
TestRatioOpt = Annotated[float | None, typer.Option("--test-ratio", help="Fraction held out by --split (default 0.2).", show_default=False)]
FoldsOpt = Annotated[int | None, typer.Option("--folds", help="Number of folds of --split kfold.", show_default=False)]
FoldOpt = Annotated[int | None, typer.Option("--fold", help="Test fold of --split kfold.", show_default=False)]
SplitSeedOpt = Annotated[int | None, typer.Option("--split-seed", help="Seed of the split (default: --seed).", show_default=False)]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Experiment seed: split, sampler and models' seeds (default 0).", show_default=False)]
ProtocolOpt = Annotated[str | None, typer.Option("--protocol", help="rating | ranking | sampled | binary (default ranking).", show_default=False)]
KOpt = Annotated[str | None, typer.Option("--k", help="Cut-offs of top-k metrics, e.g. 10,20.", show_default=False)]
NegativesOpt = Annotated[Path | None, typer.Option("--negatives", help="Negatives file for --protocol sampled (NCF format).", show_default=False)]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="MODEL.NAME=VALUE (or NAME=VALUE for every model taking NAME); repeatable.", show_default=False),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Experiment config file (TOML/YAML/JSON); options override it.", show_default=False)]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Folder for report.html, results.json/csv and plots.", show_default=False)]


# ---------------------------------------------------------------------- parsing small values
def parse_columns(text: str | None) -> list[str] | None:
    """``"user,item,rating"`` -> ``["user", "item", "rating"]``."""
    if text is None:
        return None
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise ConfigError(f"--columns {text!r}: expected comma-separated names such as user,item,rating,timestamp")
    return cols


_SEP_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "space": " ", "pipe": "|", "semicolon": ";"}


def parse_sep(text: str | None) -> str | None:
    """``--sep``: a literal separator, or a name (tab, comma, space, pipe, semicolon; ``\\t`` for tab)."""
    if text is None:
        return None
    sep = _SEP_NAMES.get(text.strip().lower(), text)
    if sep == "":
        raise ConfigError("--sep '': give a separator such as tab, comma or '::'")
    return sep


def parse_encoding(text: str | None) -> str | None:
    """``--encoding``: a codec name Python knows (checked here, so a typo is a clear error)."""
    if text is None:
        return None
    import codecs

    try:
        return codecs.lookup(text.strip()).name
    except LookupError:
        raise ConfigError(f"--encoding {text!r}: unknown text encoding (e.g. utf-8, latin-1, cp1252)") from None


def parse_on_bad_lines(value: str) -> Literal["error", "skip"]:
    value = value.strip().lower()
    if value not in ("error", "skip"):
        raise ConfigError(f"--on-bad-lines {value!r}: use 'error' or 'skip'")
    return value  # type: ignore[return-value]


def parse_int_list(text: str, option: str) -> tuple[int, ...]:
    """``"10,20"`` -> ``(10, 20)``; every value a positive integer."""
    try:
        values = tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        raise ConfigError(f"{option} {text!r}: expected comma-separated positive integers, e.g. 10,20") from None
    if not values or any(v <= 0 for v in values):
        raise ConfigError(f"{option} {text!r}: expected comma-separated positive integers, e.g. 10,20")
    return values
