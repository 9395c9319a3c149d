"""``cofirec recommend`` and ``cofirec similar``: top-N lists and similar items from a saved model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cofirec.cli.evaluate_cmd import ModelDirArg
from cofirec.cli.options import JsonOpt
from cofirec.cli.output import emit_json, emit_jsonl, note, stdout_console, titled_table, to_jsonable
from cofirec.cli.recommend_rate import add_known_user_reasons, reason_text, recommend_for_rates
from cofirec.cli.recommend_spark import check_engine_options, recommend_all_spark
from cofirec.errors import ConfigError, UnknownIdError

FormatOpt = Annotated[str | None, typer.Option("--format", help="table | json | jsonl.", show_default=False)]


# ---------------------------------------------------------------------- recommend
def recommend(
    model_dir: ModelDirArg,
    user: Annotated[list[str] | None, typer.Option("--user", "-u", help="Raw user id (repeatable).", show_default=False)] = None,
    all_users: Annotated[bool, typer.Option("--all-users", help="Every training user, streamed in batches (jsonl).")] = False,
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
    out: Annotated[Path | None, typer.Option("--out", help="Parquet folder for --engine spark.", show_default=False)] = None,
    master: Annotated[str | None, typer.Option("--master", help="Spark master with --engine spark (default local[2]).", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing --out folder.")] = False,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Top-N unseen items for users of a saved model, or for a new visitor from --rate (titles when the model has them)."""
    import cofirec

    fmt = _output_format(fmt, json_out, default="jsonl" if all_users else "table")
    if n <= 0:
        raise ConfigError(f"-n {n}: expected a positive number of items")
    if why and why_n <= 0:
        raise ConfigError(f"--why-n {why_n}: expected a positive number of reasons")
    if rate and (user or all_users):
        raise ConfigError("--rate recommends for a new visitor: it cannot be combined with --user or --all-users")
    if not rate and all_users == bool(user):
        raise ConfigError("recommend: give --user ID (repeatable), --all-users or --rate ITEM=RATING")
    engine = check_engine_options(engine, all_users=all_users, out=out, master=master, why=why)
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
        if fmt == "table":
            raise ConfigError("--all-users prints jsonl or json, not a table (use --format jsonl)")
        _recommend_all(model, n, exclude_seen=not include_seen, batch_size=batch_size, as_lines=fmt == "jsonl")
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


def _output_format(fmt: str | None, json_out: bool, *, default: str) -> str:
    if json_out:
        if fmt not in (None, "json"):
            raise ConfigError(f"--json contradicts --format {fmt}")
        return "json"
    fmt = (fmt or default).lower()
    if fmt not in ("table", "json", "jsonl"):
        raise ConfigError(f"--format {fmt!r}: use table, json or jsonl")
    return fmt


def _recommend_all(model: Any, n: int, *, exclude_seen: bool, batch_size: int, as_lines: bool) -> None:
    """Stream ``{"user", "items", "scores", "known", ["titles"]}`` per training user (the fields of ``--user``),
    ``batch_size`` users per scoring call."""
    import json

    import numpy as np

    if batch_size <= 0:
        raise ConfigError(f"--batch-size {batch_size}: expected a positive number")
    ids = model.user_map_.ids
    title_of = getattr(model, "item_titles_", None)
    title_of = None if title_of is None else np.asarray(title_of, dtype=object)
    write = sys.stdout.write
    if not as_lines:
        write("[")
    first = True
    for b0 in range(0, len(ids), batch_size):
        batch = ids[b0 : b0 + batch_size]
        recs = model.recommend(batch, n=n, exclude_seen=exclude_seen)
        items = recs.items.tolist()
        titles = None if title_of is None else title_of[model.item_map_.lookup(recs.items.ravel())].reshape(recs.items.shape).tolist()
        scores = np.round(recs.scores.astype(np.float64), 6)
        finite = np.isfinite(scores)
        score_lists = scores.tolist()
        users = batch.tolist()
        chunks = []
        for row, u in enumerate(users):
            ok = finite[row]
            its, scs = items[row], score_lists[row]
            tts = titles[row] if titles is not None else None
            if not ok.all():
                its = [x for x, keep in zip(its, ok) if keep]
                scs = [x for x, keep in zip(scs, ok) if keep]
                tts = [x for x, keep in zip(tts, ok) if keep] if tts is not None else None
            rec = {"user": u, "items": its, "scores": scs, "known": True}
            if tts is not None:
                rec["titles"] = [str(t) for t in tts]
            chunks.append(json.dumps(rec, separators=(",", ":")))
        if as_lines:
            write("\n".join(chunks) + "\n")
        else:
            write(("" if first else ",\n") + ",\n".join(chunks))
        first = False
    if not as_lines:
        write("]\n")


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
