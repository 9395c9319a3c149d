"""The ``cofirec`` command line: a thin Typer adapter over the library.

Every command lives in a small module (``data_cmds``, ``model_cmds``, ``experiment_cmds``) that adds itself
to :data:`app` through ``register(app)``. Errors a user can cause (:class:`~cofirec.errors.CofirecError`,
missing files, usage mistakes, Ctrl-C) end as one line ``error: <message>`` on stderr and exit code 2;
anything else is a bug: one line ``error: internal error: ...`` and exit code 1. ``cofirec --debug CMD`` (or
``COFIREC_DEBUG=1``) shows the full traceback instead. Under ``--json`` (or ``--format json/jsonl``) the error is
also printed on stdout as one JSON object ``{"error": ..., "kind": ..., "exit_code": ...}``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import typer
from typer.core import TyperGroup

from cofirec._extras import missing_dependency
from cofirec.errors import CofirecError

EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


_DEBUG_FLAG = {"on": False}  # set by the root ``--debug`` option for the command being run


def debug_enabled() -> bool:
    """``cofirec --debug`` or ``COFIREC_DEBUG=1``: show tracebacks instead of one-line errors."""
    if _DEBUG_FLAG["on"]:
        return True
    return os.environ.get("COFIREC_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


def error_line(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for an exception raised by a command."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_USER_ERROR
    missing = missing_dependency(exc)
    if missing is not None:
        exc = missing
    if isinstance(exc, CofirecError):
        return _one_line(str(exc)) or type(exc).__name__, EXIT_USER_ERROR
    if isinstance(exc, OSError):
        return _os_error_line(exc), EXIT_USER_ERROR
    text = _one_line(str(exc))
    if isinstance(exc, MemoryError):
        return f"out of memory{': ' + text if text else ''} (use smaller parameters or data)", EXIT_FAILURE
    head = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"internal error: {head} (a bug in cofirec; rerun with 'cofirec --debug ...' or COFIREC_DEBUG=1 for the traceback)", EXIT_FAILURE


def error_kind(exc: BaseException) -> str:
    """A stable short name of an error for ``--json`` output: ``config``, ``data``, ``unknown_id``, ``artifact``,
    ``not_fitted``, ``dataset_not_found``, ``file``, ``usage``, ``interrupted``, ``memory`` or ``internal``."""
    from typer._click.exceptions import UsageError

    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, UsageError):
        return "usage"
    if isinstance(exc, CofirecError):
        for cls in type(exc).__mro__:
            if cls is not CofirecError and issubclass(cls, CofirecError) and cls.__module__ == CofirecError.__module__:
                return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__.removesuffix("Error")).lower()
        return "error"
    if isinstance(exc, OSError):
        return "file"
    return "memory" if isinstance(exc, MemoryError) else "internal"


def wants_json(args: Sequence[str]) -> bool:
    """Whether a command's arguments ask for JSON output (``--json``, ``--format json``/``jsonl``)."""
    args = list(args)
    if "--" in args:
        args = args[: args.index("--")]
    for k, arg in enumerate(args):
        if arg == "--json" or arg in ("--format=json", "--format=jsonl"):
            return True
        if arg == "--format" and k + 1 < len(args) and args[k + 1].lower() in ("json", "jsonl"):
            return True
    return False


def report_error(message: str, kind: str, code: int, *, as_json: bool) -> None:
    """The error line on stderr, and under ``--json`` the same error as one JSON object on stdout."""
    sys.stderr.write(f"error: {message}\n")
    if as_json:
        sys.stdout.write(json.dumps({"error": message, "kind": kind, "exit_code": code}) + "\n")


def _os_error_line(exc: OSError) -> str:
    if exc.filename is not None:
        reason = (exc.strerror or str(exc)).rstrip(".").lower()
        return f"{exc.filename}: {reason}"
    return _one_line(str(exc)) or type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Library warnings as one ``warning: ...`` line on stderr (no source line echo)."""
    sys.stderr.write(f"warning: {_one_line(str(message))}\n")


@contextmanager
def rich_on_stderr() -> Iterator[None]:
    """Point rich's global console (used by models' progress bars) at stderr while a command runs.

    stdout carries the results (``--json``, ``--format jsonl``); bars and live displays must never mix into it.
    """
    import rich

    console = rich.get_console()
    saved = dict(console.__dict__)
    rich.reconfigure(stderr=True)
    try:
        yield
    finally:
        console.__dict__ = saved


class CofirecGroup(TyperGroup):
    """Typer group whose ``invoke`` turns errors into one stderr line and an exit code.

    Doing it here (not only in :func:`main`) means ``typer.testing.CliRunner`` sees the same behaviour as the
    installed ``cofirec`` script.
    """

    def invoke(self, ctx: Any) -> Any:
        from typer._click.exceptions import NoArgsIsHelpError, UsageError

        _DEBUG_FLAG["on"] = bool(ctx.params.get("debug"))
        as_json = wants_json([*getattr(ctx, "_protected_args", []), *ctx.args])
        try:
            with warnings.catch_warnings(), rich_on_stderr():
                if not debug_enabled():
                    warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except (typer.Exit, typer.Abort, NoArgsIsHelpError):
            raise
        except UsageError as exc:
            if debug_enabled():
                raise
            where = exc.ctx.command_path if exc.ctx is not None else "cofirec"
            report_error(f"{_one_line(exc.format_message())} (see '{where} --help')", "usage", exc.exit_code, as_json=as_json)
            raise typer.Exit(exc.exit_code) from None
        except (typer.TyperException, BrokenPipeError):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if debug_enabled():
                raise
            message, code = error_line(exc)
            report_error(message, error_kind(exc), code, as_json=as_json)
            raise typer.Exit(code) from None


app = typer.Typer(
    name="cofirec",
    cls=CofirecGroup,
    help="cofirec: collaborative-filtering recommenders: data, models, evaluation, experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from cofirec import __version__

        typer.echo(f"cofirec {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the cofirec version and exit.", is_eager=True, callback=_print_version),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an error (same as COFIREC_DEBUG=1)."),
) -> None:
    """cofirec: collaborative-filtering recommenders: data, models, evaluation, experiments."""


def _register_all() -> None:
    from cofirec.cli import data_cmds, model_cmds, serve_cmd

    data_cmds.register(app)
    model_cmds.register(app)
    serve_cmd.register(app)
    try:
        experiment_cmds = importlib.import_module("cofirec.cli.experiment_cmds")
    except ModuleNotFoundError as exc:
        if exc.name != "cofirec.cli.experiment_cmds":
            _warn_unavailable(exc)
        return
    except Exception as exc:  # a broken optional module must not break the other commands
        _warn_unavailable(exc)
        return
    experiment_cmds.register(app)


def _warn_unavailable(exc: BaseException) -> None:
    if debug_enabled():
        raise exc
    sys.stderr.write(f"warning: experiment commands unavailable ({type(exc).__name__}: {_one_line(str(exc))})\n")


_register_all()


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the app, exit 0 on success, 2 on user errors, 1 on other failures."""
    from typer._click.exceptions import NoArgsIsHelpError

    args = list(sys.argv[1:] if argv is None else argv)
    _DEBUG_FLAG["on"] = "--debug" in args[: next((k for k, a in enumerate(args) if not a.startswith("-")), len(args))]
    try:
        rv = app(args=args, prog_name="cofirec", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # help was printed already
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors outside a command (e.g. an unknown global option)
        if debug_enabled():
            raise
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "cofirec"
        code = getattr(exc, "exit_code", EXIT_USER_ERROR)
        report_error(f"{_one_line(exc.format_message())} (see '{where} --help')", "usage", code, as_json=wants_json(args))
        sys.exit(code)
    except typer.Abort:
        sys.stderr.write("error: aborted\n")
        sys.exit(EXIT_FAILURE)
    except (Exception, KeyboardInterrupt) as exc:  # errors outside a command
        if debug_enabled():
            raise
        message, code = error_line(exc)
        report_error(message, error_kind(exc), code, as_json=wants_json(args))
        sys.exit(code)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
