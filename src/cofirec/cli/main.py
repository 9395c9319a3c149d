"""The ``cofirec`` command line: a thin Typer adapter over the library.

Every command lives in a small module (``data_cmds``, ``model_cmds``, ``experiment_cmds``) that adds itself
to :data:`app` through ``register(app)``. Errors a user can cause (:class:`~cofirec.errors.CofirecError`,
missing files, usage mistakes, Ctrl-C) end as one line ``error: <message>`` on stderr and exit code 2;
anything else exits 1 with one line too. ``COFIREC_DEBUG=1`` shows the full traceback instead.
"""

from __future__ import annotations

import importlib
import os
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


def debug_enabled() -> bool:
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
    head = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{head} (set COFIREC_DEBUG=1 for the traceback)", EXIT_FAILURE


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
            sys.stderr.write(f"error: {_one_line(exc.format_message())} (see '{where} --help')\n")
            raise typer.Exit(exc.exit_code) from None
        except (typer.TyperException, BrokenPipeError):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if debug_enabled():
                raise
            message, code = error_line(exc)
            sys.stderr.write(f"error: {message}\n")
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
) -> None:
    """cofirec: collaborative-filtering recommenders: data, models, evaluation, experiments."""


def _register_all() -> None:
    from cofirec.cli import data_cmds, model_cmds

    data_cmds.register(app)
    model_cmds.register(app)
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
    try:
        rv = app(args=args, prog_name="cofirec", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # help was printed already
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors outside a command (e.g. an unknown global option)
        if debug_enabled():
            raise
        where = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "cofirec"
        sys.stderr.write(f"error: {_one_line(exc.format_message())} (see '{where} --help')\n")
        sys.exit(getattr(exc, "exit_code", EXIT_USER_ERROR))
    except typer.Abort:
        sys.stderr.write("error: aborted\n")
        sys.exit(EXIT_FAILURE)
    except (Exception, KeyboardInterrupt) as exc:  # errors outside a command
        if debug_enabled():
            raise
        message, code = error_line(exc)
        sys.stderr.write(f"error: {message}\n")
        sys.exit(code)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
