"""``cofirec recommend`` and ``cofirec similar``: top-N lists and similar items from a saved model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cofirec.cli.evaluate_cmd import ModelDirArg
from cofirec.cli.options import JsonOpt
from cofirec.cli.output import emit_json, emit_jsonl, note, stdout_console, titled_table, to_jsonable
from cofirec.cli.recommend_all import check_all_users_output, recommend_all
from cofirec.cli.recommend_rate import add_known_user_reasons, reason_text, recommend_for_rates
from cofirec.cli.recommend_spark import check_engine_options, recommend_all_spark
from cofirec.errors import ConfigError, UnknownIdError

FormatOpt = Annotated[str | None, typer.Option("--format", help="table | json | jsonl (--all-users: jsonl | json | csv | parquet).", show_default=False)]


# ---------------------------------------------------------------------- recommend
def recommend(
    model_dir: ModelDirArg,
    user: Annotated[list[str] | None, typer.Option("--user", "-u", help="Raw user id (repeatable).", show_default=False)] = None,
    all_users: Annotated[bool, typer.Option("--all-users", help="Every training user, streamed in batches (jsonl, json, csv; parquet with --out).")] = False,
    n: Annotated[int, typer.Option("-n", "--num", help="Items per user.")] = 10,
    include_seen: Annotated[bool, typer.Option("--include-seen", help="Do not drop items the user rated in training.")] = False,
    no_fallback: Annotated[bool, typer.Option("--no-fallback", help="Unknown user is an error instead of the fallback ranking.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Users per batch with --all-users.")] = 2048,
    rate: Annotated[
        list[str] | None, typer.Option("--rate", help="A new visitor's rating ITEM=RATING, item by id or title (repeatable).", show_default=False)
    ] = None,
    why: Annotated[bool, typer.Option("--why", help="Show the rated items behind each recommendation.")] = False,
    why_n: Annotated[int, typer.Option("--why-n", help="Reasons per item with --why.")] = 3,
    engine: Annotated[str, typer.Option("--engine", help="local | spark (with --all-users --out: batch top-N in Spark).")] = "local",
    out: Annotated[
        Path | None, typer.Option("--out", help="--all-users: file to write (atomically); a Parquet folder with --engine spark.", show_default=False)
    ] = None,
    master: Annotated[str | None, typer.Option("--master", help="Spark master with --engine spark (default local[2]).", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out folder.")] = False,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Top-N unseen items for users of a saved model, or for a new visitor from --rate (titles when the model has them)."""
    import cofirec

    default = _format_of(out) if all_users and out is not None and engine.strip().lower() == "local" else "jsonl" if all_users else "table"
    fmt = _output_format(fmt, json_out, default=default, extra=("csv", "parquet") if all_users else ())
    if n <= 0:
        raise ConfigError(f"-n {n}: expected a positive number of items")
    if why and why_n <= 0:
        raise ConfigError(f"--why-n {why_n}: expected a positive number of reasons")
    if rate and (user or all_users):
        raise ConfigError("--rate recommends for a new visitor: it cannot be combined with --user or --all-users")
    if not rate and all_users == bool(user):
        raise ConfigError("recommend: give --user ID (repeatable), --all-users or --rate ITEM=RATING")
    engine = check_engine_options(engine, all_users=all_users, out=out, master=master, why=why)
    if engine == "local" and all_users:
        check_all_users_output(fmt, out)
    model = cofirec.load(model_dir)
    if rate:
        _emit_records([recommend_for_rates(model, rate, n, why_n if why else 0)], fmt, model=model, exclude_seen=True)
        return
    if engine == "spark" and out is not None:
        recommend_all_spark(model, n, out, master=master, overwrite=overwrite, as_json=fmt == "json")
        return
    if all_users and why:
        raise ConfigError("--why explains --user or --rate lists, not --all-users")
    if all_users:
        recommend_all(model, n, exclude_seen=not include_seen, batch_size=batch_size, fmt=fmt, out=out)
        return
    recs = model.recommend(model.user_map_.coerce(list(user or [])), n=n, exclude_seen=not include_seen)
    records = recs.to_records()
    for rec in records:
        rec["scores"] = [round(s, 6) for s in rec["scores"]]
        titles = model.titles(rec["items"])
        if titles is not None:
            rec["titles"] = titles
    unknown = [r["user"] for r in records if not r["known"]]
    if unknown:
        label = ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        if no_fallback:
            raise UnknownIdError(f"unknown user {label}: not in the training data of {model_dir}")
        note(f"user {label} is not in the training data: showing the non-personalised fallback ranking ({_fallback_name(model)})")
    short = [r["user"] for r in records if len(r["items"]) < n]
    if short:
        note(
            f"{len(short)} of {len(records)} users have fewer than {n} items left to recommend (their lists are shorter): "
            + ", ".join(repr(u) for u in short[:5])
            + (" ..." if len(short) > 5 else "")
        )
    if why:
        add_known_user_reasons(model, records, why_n)
    _emit_records(records, fmt, model=model, exclude_seen=not include_seen)


def _emit_records(records: list[dict], fmt: str, *, model: Any, exclude_seen: bool) -> None:
    if fmt == "json":
        emit_json(records)  # always a list of records (one per user), as with --all-users --json
    elif fmt == "jsonl":
        emit_jsonl(to_jsonable(records))
    else:
        implicit = getattr(model, "kind_", "explicit") == "implicit"
        for rec in records:
            _print_recommendations(rec, exclude_seen=exclude_seen, label="score", implicit=implicit)


def _fallback_name(model: Any) -> str:
    return "item popularity" if getattr(model, "kind_", "explicit") == "implicit" else "damped item mean ratings"


def _output_format(fmt: str | None, json_out: bool, *, default: str, extra: tuple[str, ...] = ()) -> str:
    if json_out:
        if fmt not in (None, "json"):
            raise ConfigError(f"--json contradicts --format {fmt}")
        return "json"
    fmt = (fmt or default).lower()
    if fmt not in ("table", "json", "jsonl", *extra):
        raise ConfigError(f"--format {fmt!r}: use " + ", ".join(("table", "json", "jsonl", *extra)) + ("" if extra else " (csv and parquet with --all-users)"))
    return fmt


def _format_of(out: Path) -> str:
    """The --all-users format a file name asks for when --format is not given (jsonl unless it ends so)."""
    return {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".json": "json"}.get(out.suffix.lower(), "jsonl")


def _print_recommendations(rec: dict, *, exclude_seen: bool, label: str, implicit: bool = False) -> None:
    from rich.markup import escape

    titles, reasons = rec.get("titles"), rec.get("reasons")
    if "rated" in rec:
        caption = "from " + reason_text(rec["rated"], implicit) + " (rated items left out)"
        title = f"recommendations for a new visitor ({len(rec['rated'])} rated item{'s' if len(rec['rated']) != 1 else ''})"
    elif "user" in rec:
        caption = "items this user has not rated in training" if exclude_seen else "training items included"
        if not rec.get("known", True):
            caption = "fallback ranking: user not in the training data"
        title = f"recommendations for user {rec['user']}"
    else:
        caption, title = None, f"items similar to {rec['item']}" + (f" ({rec['item_title']})" if rec.get("item_title") else "")
    table = titled_table(escape(title), caption)
    table.add_column("#", justify="right")
    table.add_column("item", justify="right")
    if titles is not None:
        table.add_column("title", overflow="fold")
    table.add_column(label, justify="right")
    if reasons is not None:
        table.add_column("because you " + ("liked" if implicit else "rated"), overflow="fold")
    for rank, item in enumerate(rec["items"]):
        row = [str(rank + 1), escape(str(item))]
        if titles is not None:
            row.append(escape(titles[rank]))
        row.append(f"{rec['scores'][rank]:.4f}")
        if reasons is not None:
            row.append(escape(reason_text(reasons[rank], implicit)))
        table.add_row(*row)
    stdout_console().print(table)


# ---------------------------------------------------------------------- similar
def similar(
    model_dir: ModelDirArg,
    item: Annotated[str, typer.Option("--item", "-i", help="Raw item id, or part of a title (case-insensitive).", show_default=False)],
    n: Annotated[int, typer.Option("-n", "--num", help="Number of similar items.")] = 10,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Items most similar to one item, given by id or (part of) its title."""
    import cofirec

    fmt = _output_format(fmt, json_out, default="table")
    if n <= 0:
        raise ConfigError(f"-n {n}: expected a positive number of items")
    from cofirec.models.titles import resolve_item

    model = cofirec.load(model_dir)
    item_id = resolve_item(model, item)
    recs = model.similar_items(item_id, n=n)
    record = recs.to_records()[0]
    out: dict[str, Any] = {"item": record["user"], "items": record["items"], "scores": [round(s, 6) for s in record["scores"]]}
    titles = model.titles(out["items"])
    if titles is not None:
        out["item_title"] = model.titles([out["item"]])[0]
        out["titles"] = titles
    if fmt == "json":
        emit_json(out)
    elif fmt == "jsonl":
        emit_jsonl([to_jsonable(out)])
    else:
        _print_recommendations(out, exclude_seen=False, label="similarity")
