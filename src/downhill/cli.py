"""The ``downhill`` command: one subcommand per idea, and a tour of them all.

A thin shell over the library: it parses the arguments, calls one library
function, and prints its result: ``str(result)`` for people, or with
``--json`` the result's ``to_dict()`` as strict JSON (the playground's API
sends the same dict). A divergence is a result (exit 0, status "diverged").

Errors have a policy. The user's mistakes (the library's
:class:`~downhill.errors.DownhillError` family, and click's usage errors) get
one line on stderr saying what was wrong and what is accepted, and exit
status 2. Anything else is a bug in downhill: it keeps its traceback, with a
line asking to report it, and exit status 1.
"""

from __future__ import annotations

import math
import os
import sys
import traceback

import click

from . import limits
from .errors import DownhillError, InputError, LimitError, UnknownNameError, shorten

EXIT_BAD_INPUT = 2
EXIT_BUG = 1
EXIT_INTERRUPTED = 130  # the shell's 128 + SIGINT, so a script can tell Ctrl-C from a failure
REPORT_BUG = ("downhill: this is a bug in downhill, not a mistake of yours; please report it with the "
              "command you ran and the traceback above")


class BadInput(click.ClickException):
    """Input the command cannot use; reported in one line with exit status 2."""

    exit_code = EXIT_BAD_INPUT


# --------------------------------------------------------------- parsing help
def _numbers(text, what, count=None):
    """'1.5,-2' -> [1.5, -2.0]; one clear error otherwise."""
    parts = str(text).replace(" ", "").split(",")
    if parts and parts[-1] == "":  # a trailing comma, as in "1,", is harmless
        parts = parts[:-1]
    if "" in parts and parts != [""]:
        raise BadInput(f"{what} has an empty place between commas (like 1,,2); "
                       f"give numbers separated by single commas, like 1.5,-2; got {shorten(text)!r}")
    parts = [p for p in parts if p != ""]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise BadInput(f"{what} must be numbers separated by commas (like 1.5,-2), got {shorten(text)!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise BadInput(f"{what} must be finite numbers separated by commas (like 1.5,-2), got {shorten(text)!r}")
    if count is not None and len(values) != count:
        raise BadInput(f"{what} needs {count} number(s) separated by commas, got {len(values)}: {shorten(text)!r}")
    return values


def _landscape(text):
    """A landscape name or a formula typed by a person (parsed, never evaluated)."""
    from .landscapes import resolve

    try:
        return resolve(text)
    except UnknownNameError as error:  # a word that names no landscape: it may have meant a formula
        raise BadInput(f"{str(error).rstrip('.')}; or type a formula in x and y, like 'x**2 + 3*y**2'") from None


def _mountain_at(text, point, option):
    """The landscape ``text`` names and the point ``option`` gives, one coordinate per variable."""
    landscape = _landscape(text)
    return landscape, _numbers(point, option, len(landscape.variables))


def _formula(argument, option, what="FORMULA"):
    """The formula (or landscape name) given as the argument or as ``--formula``: exactly one of them."""
    if argument is not None and option is not None:
        raise InputError(f"give the {what} once: as the argument or with --formula, not both")
    text = argument if argument is not None else option
    if text is None:
        raise InputError(f"missing the {what}: a landscape name or a formula such as 'x**2 + 3*y**2' "
                         "(one that starts with '-' goes after -- or in --formula='-x**2')")
    return text


def _formula_input(name):
    """The command's formula: an optional argument, or ``--formula`` for one that starts with '-'."""

    def decorate(command):
        command = click.option(
            "--formula", "formula_option", default=None, metavar="TEXT",
            help=f"The {name} as an option, for a formula that starts with '-' (--formula='-x**2'); "
                 f"or put it after --: downhill ... -- '-x**2'.")(command)
        return click.argument(name.lower(), required=False)(command)

    return decorate


def _picture_path(path, option, suffixes=(".png", ".svg", ".pdf")):
    """Check where a picture will go before any work: its format, and a file (or nothing) in an existing folder."""
    if path is None:
        return None
    from .files import output_target

    if os.path.splitext(path)[1].lower() not in suffixes:
        raise InputError(f"{option} must name a {', '.join(suffixes)} file; got {shorten(path)!r}")
    try:
        output_target(path, "picture")
    except InputError as error:
        raise InputError(f"{option}: {error}") from None
    return path


def _one_line(error):
    reason = getattr(error, "reason", None)
    if reason is None:
        return str(error).splitlines()[0]
    start = getattr(error, "start", None)
    where = f" (at character {start + 1})" if isinstance(start, int) else ""
    hint = str(getattr(error, "hint", "") or "").split(". ")[0]
    return f"cannot use the formula: {reason}{where}" + (f"; {hint.rstrip('.')}" if hint else "")


def _emit(result, as_json, human=None):
    """Print ``result``: its strict JSON with ``--json``, else ``human`` (by default ``str(result)``)."""
    from .results import to_json

    click.echo(to_json(result) if as_json else (str(result) if human is None else human))


def _draw(path, as_json, picture, *args, kind="picture", **kwargs):
    """Draw ``viz.<picture>(*args, **kwargs)`` into ``path``, if one was given, and say where."""
    if not path:
        return
    from . import viz

    try:
        getattr(viz, picture)(*args, save=path, **kwargs)
    except OSError as error:  # a full disk, say: the old file (if any) is kept whole
        raise InputError(f"cannot write {shorten(path)}: {error.strerror or error}; nothing was written") from None
    if not as_json:
        click.echo(f"wrote {kind} {path}")


def _optimizer(name, momentum=None, nesterov=False, beta1=None, beta2=None):
    """An optimizer name (or an alias such as momentum, nesterov) and the options its flags set."""
    from .optim.registry import resolve

    base, options = resolve(name)
    if momentum is not None:
        if base != "sgd" and base != "rmsprop":
            raise BadInput(f"--momentum applies to sgd and rmsprop, not {base}")
        options["momentum"] = momentum
    if nesterov:
        options["nesterov"] = True
    if beta1 is not None or beta2 is not None:
        if base not in ("adam", "adamw"):
            raise BadInput(f"--beta1/--beta2 apply to adam and adamw, not {base}")
        options["betas"] = (0.9 if beta1 is None else beta1, 0.999 if beta2 is None else beta2)
    return base, options


def _lr(value):
    if not (math.isfinite(value) and value >= 0):
        raise BadInput(f"--lr must be a finite number >= 0, got {value}")
    return value


def _finite(**options):
    """Refuse an option given as inf or nan (``--tol 1e400`` reads as inf, which would stop at once)."""
    for name, value in options.items():
        if value is not None and not math.isfinite(value):
            raise BadInput(f"--{name} must be a finite number, got {value}")


# ------------------------------------------------------------------ commands
# Options many commands share, written once.
_json_option = click.option("--json", "as_json", is_flag=True,
                            help="Print the result as JSON (what the playground's API sends) instead of words.")
_start_option = click.option("--start", required=True, help="Starting point, e.g. --start -1.5,2")
_at_option = click.option("--at", "at", required=True, help="The point, e.g. --at 1,2")


def _steps_option(default, runs, most):
    """``--steps`` of a command that climbs once per ``runs`` (optimizers, rates, starts)."""
    return click.option("--steps", type=int, default=default, show_default=True,
                        help=f"Most steps of each climb (0 to {limits.MAX_STEPS:,}; "
                             f"{runs} x steps at most {most:,}).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="downhill")
def cli():
    """downhill: the five ideas of the mountain climber, to run and look at.

    \b
    derivative  the speedometer: how fast a formula changes at a point
    gradient    the foggy mountain: which way is downhill, and how steep
    descend     gradient descent: feel the ground, take a step, repeat
    graph       the chain rule: the graph of a formula, link by link
    lr-sweep    the learning rate: too small, good, too big
    tour        all of it, with pictures and an index page
    serve       the playground in your browser

    Beyond the five: compare (optimizers racing), basins (where each start
    ends), train (a small network) and landscapes (the test mountains); every
    command is listed below with its own --help.
    """


@cli.command()
@_formula_input("FORMULA")
@click.option("--at", "at", required=True, help="The point x, e.g. --at 2")
@click.option("--plot", help="Save the speedometer picture (PNG, SVG or PDF).")
@_json_option
def derivative(formula, formula_option, at, plot, as_json):
    """The derivative of a one-variable FORMULA at a point (the speedometer)."""
    from .explain import derivative_at

    formula = _formula(formula, formula_option)
    (x,) = _numbers(at, "--at", 1)
    _picture_path(plot, "--plot")
    landscape = _landscape(formula)
    reading = derivative_at(landscape, x)
    _emit(reading, as_json)
    _draw(plot, as_json, "speedometer", lambda t: landscape(t), x)


def _point_command(picture, picture_help):
    """A command that reads FORMULA at a point ``--at`` and may save a picture (option ``picture``)."""

    def decorate(command):
        for option in (_json_option, click.option(picture, help=picture_help), _at_option,
                       _formula_input("FORMULA")):
            command = option(command)
        return cli.command()(command)

    return decorate


def _mountain_input(text, formula_option, point, *pictures, what="FORMULA", point_option="--at", steps=None):
    """A command's landscape and point, with its ``--steps`` and picture paths checked first: (landscape, point).

    ``pictures``: ``(path, option)`` or ``(path, option, suffixes)``, as :func:`_picture_path` takes them.
    """
    text = _formula(text, formula_option, what)
    if steps is not None:
        limits.whole_number(steps, "--steps", 0, limits.MAX_STEPS)
    for picture in pictures:
        _picture_path(*picture)
    return _mountain_at(text, point, point_option)


def _climb_input(landscape, formula_option, start, steps, *pictures):
    """LANDSCAPE, ``--start`` and ``--steps`` of a command that climbs, and its pictures: (landscape, point)."""
    return _mountain_input(landscape, formula_option, start, *pictures, what="LANDSCAPE", point_option="--start",
                           steps=steps)


@_point_command("--plot", "Save the map with the arrow downhill (PNG, SVG or PDF).")
def gradient(formula, formula_option, at, plot, as_json):
    """The gradient of FORMULA (or a landscape name) at a point: which way is downhill."""
    from .explain import gradient_at

    landscape, point = _mountain_input(formula, formula_option, at, (plot, "--plot"))
    if plot and len(landscape.variables) != 2:
        raise BadInput("--plot draws a map, which needs a formula of two variables")
    reading = gradient_at(landscape, point)
    _emit(reading, as_json)
    if plot:
        # The point and the arrow downhill from it, with the gradient's numbers in the legend.
        _draw(plot, as_json, "mountain", landscape, at=point, field=True)


def _descend_options(f):
    # Applied last-first, since each click.option puts its option above those already there:
    # --help then lists them in this order.
    options = [
        _start_option,
        click.option("--optimizer", default="sgd", show_default=True,
                     help="sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad"),
        click.option("--lr", type=float, default=0.01, show_default=True, help="Learning rate."),
        click.option("--steps", type=int, default=1000, show_default=True,
                     help=f"Most steps to take (0 to {limits.MAX_STEPS:,})."),
        click.option("--momentum", type=float, default=None, help="Momentum (sgd, rmsprop)."),
        click.option("--nesterov", is_flag=True, help="Nesterov momentum (sgd)."),
        click.option("--beta1", type=float, default=None, help="Adam's beta1."),
        click.option("--beta2", type=float, default=None, help="Adam's beta2."),
        click.option("--tol", type=float, default=1e-8, show_default=True,
                     help="Stop when the slope is at most this."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@cli.command()
@_formula_input("LANDSCAPE")
@_descend_options
@click.option("--plot", help="Save the path on the map (PNG, SVG or PDF).")
@click.option("--animate", help="Save the climb as an animated GIF.")
@_json_option
def descend(landscape, formula_option, start, optimizer, lr, steps, momentum, nesterov, beta1, beta2, tol,
            plot, animate, as_json):
    """Walk down LANDSCAPE (a name or a formula) from --start."""
    from .optim.descend import descend as climb

    surface, point = _climb_input(landscape, formula_option, start, steps, (plot, "--plot"),
                                  (animate, "--animate", (".gif",)))
    _finite(tol=tol, momentum=momentum, beta1=beta1, beta2=beta2)
    name, options = _optimizer(optimizer, momentum, nesterov, beta1, beta2)
    _lr(lr)
    if (plot or animate) and len(surface.variables) != 2:
        raise BadInput("--plot and --animate draw a map, which needs a landscape of two variables")
    trajectory = climb(surface, point, optimizer=name, lr=lr, steps=steps, tol=tol, progress=not as_json,
                       **options)
    final = ", ".join(f"{v:.10g}" for v in trajectory.final_point)
    settings = "".join(f", {k}={v}" for k, v in options.items())
    # A typed formula is its own name: say it once.
    title = surface.formula if surface.name == surface.formula else f"{surface.name}: {surface.formula}"
    human = (f"{title}\noptimizer {name}{settings}, lr={lr:g}\n"
             f"status: {trajectory.status} after {trajectory.steps_taken} steps\n"
             f"final point: ({final})\nfinal value: {trajectory.final_value:.10g}\n"
             f"{trajectory.summary()}")
    _emit(trajectory, as_json, human)
    _draw(plot, as_json, "mountain", surface, paths=[trajectory])
    _draw(animate, as_json, "animate", surface, [trajectory], kind="animation")


@cli.command()
@_formula_input("LANDSCAPE")
@_start_option
@click.option("--optimizers", default="sgd,momentum,adam", show_default=True,
              help=f"Comma-separated optimizers to race (at most {limits.MAX_RACERS}).")
@click.option("--lrs", default=None, help="Comma-separated learning rates, one per optimizer (or one for all).")
@_steps_option(1000, "optimizers", limits.MAX_SWEEP_WORK)
@click.option("--plot", help="Save the race on one map with loss curves (PNG, SVG or PDF).")
@_json_option
def compare(landscape, formula_option, start, optimizers, lrs, steps, plot, as_json):
    """Race several optimizers down LANDSCAPE from the same start."""
    from .optim.compare import compare_optimizers

    surface, point = _climb_input(landscape, formula_option, start, steps, (plot, "--plot"))
    specs = [s for s in optimizers.split(",") if s.strip()]
    if not specs:
        raise BadInput("--optimizers needs at least one name")
    if len(specs) > limits.MAX_RACERS:
        raise LimitError(f"--optimizers races at most {limits.MAX_RACERS} optimizers; got {len(specs):,}")
    limits.work(len(specs), steps, limits.MAX_SWEEP_WORK, "optimizers")
    parsed = [_optimizer(s) for s in specs]
    rates = _numbers(lrs, "--lrs") if lrs else None
    if rates is not None and len(rates) not in (1, len(specs)):
        raise BadInput(f"--lrs needs one rate, or one per optimizer ({len(specs)}); got {len(rates)}")
    if plot and len(surface.variables) != 2:
        raise BadInput("--plot draws a map, which needs a landscape of two variables")
    runs = compare_optimizers(surface, point, [(label.strip(), base, opts) for label, (base, opts)
                                              in zip(specs, parsed)], lrs=rates, steps=steps,
                              progress=not as_json)
    _emit(runs, as_json)
    _draw(plot, as_json, "compare", surface, {f"{r.label} (lr={r.lr:g})": r.trajectory for r in runs})


@cli.command("lr-sweep")
@_formula_input("LANDSCAPE")
@_start_option
@click.option("--lrs", default=None,
              help=f"Comma-separated learning rates (default: 12 from 1e-5 to 10; at most {limits.MAX_RATES:,}).")
@click.option("--optimizer", default="sgd", show_default=True, help="sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad")
@_steps_option(200, "rates", limits.MAX_SWEEP_WORK)
@click.option("--plot", help="Save final value against learning rate (PNG, SVG or PDF).")
@_json_option
def lr_sweep_command(landscape, formula_option, start, lrs, optimizer, steps, plot, as_json):
    """Run one climb at many learning rates: which are too small, good, too big."""
    from .optim.lr_tools import DEFAULT_SWEEP_LRS, lr_advice, lr_sweep

    surface, point = _climb_input(landscape, formula_option, start, steps, (plot, "--plot"))
    rates = _numbers(lrs, "--lrs") if lrs else list(DEFAULT_SWEEP_LRS)
    if any(r < 0 for r in rates):
        raise BadInput("--lrs must be numbers >= 0")
    if len(rates) > limits.MAX_RATES:
        raise LimitError(f"--lrs sweeps at most {limits.MAX_RATES:,} learning rates; got {len(rates):,}")
    limits.work(len(rates), steps, limits.MAX_SWEEP_WORK, "learning rates")
    name, options = _optimizer(optimizer)
    sweep = lr_sweep(surface, point, rates, optimizer=name, steps=steps, progress=not as_json, **options)
    try:
        advice = lr_advice(surface, point)
    except DownhillError:  # no curvature here (a kink): the sweep stands alone
        advice = None
    diverged = [r.lr for r in sweep.rows if r.status == "diverged"]
    human = sweep.table()
    human += "\n" + (f"diverged (fell off the mountain): {', '.join(f'{r:g}' for r in diverged)}"
                     if diverged else "no learning rate diverged")
    data = sweep.to_dict()
    if advice is not None:
        human += "\n" + advice.message
        data = {**data, "max_stable_lr": advice.max_stable_lr}
    _emit(data, as_json, human)
    _draw(plot, as_json, "lr_sweep_plot", sweep, bound=advice if advice is not None else False)


@cli.command()
@_formula_input("LANDSCAPE")
@click.option("--optimizer", default="sgd", show_default=True, help="sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad")
@click.option("--lr", type=float, default=0.01, show_default=True, help="Learning rate of every climber.")
@_steps_option(200, "starts", limits.MAX_BASIN_WORK)
@click.option("--grid", type=int, default=60, show_default=True,
              help=f"Starts per side of the grid (2 to {limits.MAX_GRID:,}).")
@click.option("--plot", help="Save the basin map (PNG, SVG or PDF).")
@_json_option
def basins(landscape, formula_option, optimizer, lr, steps, grid, plot, as_json):
    """Drop a climber on every point of a grid: which minimum does each reach?"""
    from .optim.basins import basins as find_basins

    landscape = _formula(landscape, formula_option, "LANDSCAPE")
    limits.whole_number(steps, "--steps", 0, limits.MAX_STEPS)
    limits.whole_number(grid, "--grid", 2, limits.MAX_GRID)
    limits.work(grid * grid, steps, limits.MAX_BASIN_WORK, "starts")
    _picture_path(plot, "--plot")
    surface = _landscape(landscape)
    if len(surface.variables) != 2:
        raise BadInput("basins needs a landscape of two variables")
    name, options = _optimizer(optimizer)
    _lr(lr)
    result = find_basins(surface, optimizer=name, lr=lr, grid=grid, steps=steps, progress=not as_json,
                         **options)
    _emit(result, as_json)
    _draw(plot, as_json, "basins_plot", result)


@_point_command("--out", "Save the graph picture (PNG, SVG or PDF).")
def graph(formula, formula_option, at, out, as_json):
    """The computational graph of FORMULA at a point: the chain rule, link by link."""
    from .explain import graph_at

    surface, point = _mountain_input(formula, formula_option, at, (out, "--out"))
    reading = graph_at(surface, point, require_finite=True)
    _emit(reading, as_json)
    _draw(out, as_json, "graph", reading.value, names=reading.names)


@cli.command()
@click.option("--functions", is_flag=True, help="List the functions a typed formula may use instead.")
@_json_option
def landscapes(functions, as_json):
    """The test mountains: names, formulas, known minima."""
    from .landscapes import get, names
    from .landscapes.expression import FUNCTIONS

    if functions:
        _emit(sorted(FUNCTIONS), as_json, ", ".join(sorted(FUNCTIONS)))
        return
    rows = [get(name).to_dict() for name in names()]
    human = "\n".join(
        f"{r['name']:<17} {r['formula']}\n{'':<17} minimum {r['minima'][0]['value']:.6g} at "
        + "; ".join("(" + ", ".join(f"{c:.6g}" for c in m["point"]) + ")" for m in r["minima"])
        for r in rows
    )
    _emit(rows, as_json, human)


@cli.command()
@click.argument("dataset")
@click.option("--hidden", default="32,32", show_default=True,
              help=f"Hidden layer sizes (at most {limits.MAX_HIDDEN_LAYERS} layers of "
                   f"{limits.MAX_HIDDEN_UNITS:,} units, {limits.MAX_PARAMETERS:,} weights in all).")
@click.option("--epochs", type=int, default=100, show_default=True,
              help=f"Passes over the data (1 to {limits.MAX_EPOCHS:,}).")
@click.option("--lr", type=float, default=0.05, show_default=True, help="Learning rate (Adam).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the data and the first weights: the same seed, the same run.")
@click.option("--plot", help="Save loss/accuracy curves (PNG, SVG or PDF).")
@_json_option
def train(dataset, hidden, epochs, lr, seed, plot, as_json):
    """Train a small network on DATASET (moons, circles, spirals, xor, blobs, digits)."""
    from .nn.recipes import DATASETS, train_classifier

    if dataset not in DATASETS:
        raise BadInput(f"unknown dataset {shorten(dataset)!r}; accepted: {', '.join(DATASETS)}")
    sizes = limits.hidden_sizes(_numbers(hidden, "--hidden"))
    limits.whole_number(epochs, "--epochs", 1, limits.MAX_EPOCHS)
    if not 0 <= seed < 2**32:
        raise InputError(f"--seed must be a whole number from 0 to {2**32 - 1}; got {shorten(seed)}")
    _picture_path(plot, "--plot")
    _lr(lr)
    # fit's bar draws anywhere (notebooks show it); the command's bars are for a terminal only.
    result = train_classifier(dataset, hidden=sizes, epochs=epochs, lr=lr, seed=seed,
                              progress=not as_json and sys.stderr.isatty())
    _emit(result, as_json)
    _draw(plot, as_json, "training", result.history)


@cli.command()
@click.option("--out", default="downhill-tour", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the pictures and the index page.")
def tour(out):
    """The whole module: speedometer, foggy mountain, descent, bicycle chain, learning rate."""
    from .tour import run_tour

    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out must name a folder for the tour; {shorten(out)} is a file")
    index = run_tour(out, echo=click.echo)
    click.echo(f"the tour is in {index}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", type=int, default=8000, show_default=True, help="Port (0 picks a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the playground in a browser.")
@click.option("--workers", type=int, default=None,
              help="Processes that compute, one request each at a time (default: one per core); requests "
                   "estimated to take long get half as many more, at a lower priority.")
@click.option("--time-budget", type=float, default=None,
              help="Seconds from a request's arrival to its answer; past them its computation is stopped "
                   "(default: 10).")
@click.option("--cache-mb", type=float, default=None,
              help="Megabytes of answers kept for identical requests, which a class sends often "
                   "(default: 64; 0 keeps none).")
def serve(host, port, open_browser, workers, time_budget, cache_mb):
    """The playground: a local web page to play with the five ideas."""
    from .web.answers import DEFAULT_CACHE_BYTES
    from .web.limits import TIME_BUDGET_S
    from .web.server import serve as run_server

    if not 0 <= port <= 65535:
        raise BadInput(f"--port must be between 0 and 65535, got {port}")
    if workers is not None and not 1 <= workers <= 256:
        raise BadInput(f"--workers must be a whole number from 1 to 256, got {workers}")
    if time_budget is not None and not 0.1 <= time_budget <= 3600:
        raise BadInput(f"--time-budget must be from 0.1 to 3600 seconds, got {time_budget:g}")
    if cache_mb is not None and not 0 <= cache_mb <= 65536:
        raise BadInput(f"--cache-mb must be from 0 to 65536 megabytes, got {cache_mb:g}")
    try:
        run_server(host=host, port=port, open_browser=open_browser, workers=workers,
                   time_budget=TIME_BUDGET_S if time_budget is None else time_budget,
                   cache_bytes=DEFAULT_CACHE_BYTES if cache_mb is None else int(cache_mb * 2**20))
    except OSError as error:
        raise BadInput(str(error).splitlines()[0]) from None


def main(argv=None):
    """Run the command: the user's mistakes -> one line and exit 2; a bug -> its traceback and exit 1."""
    from .landscapes import ExpressionError

    try:
        cli.main(args=argv, prog_name="downhill", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as error:  # pragma: no cover - click >= 8.2
        click.echo(error.ctx.get_help())
        sys.exit(0)
    except click.exceptions.NoSuchOption as error:
        message = error.format_message()
        if not error.option_name.startswith("--") or not error.option_name[2:].replace("-", "").isalnum():
            # "-x**2 + y**2" is a formula, not an option: say how to pass it.
            message = message.rstrip(".") + ("; a formula that starts with '-' goes after -- (downhill descend --start 1,1 -- "
                        "'-x**2 + y**2') or in --formula='-x**2 + y**2'")
        click.echo(f"downhill: {shorten(message.splitlines()[0], 400)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.ClickException as error:
        click.echo(f"downhill: {shorten(error.format_message().splitlines()[0], 400)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.exceptions.Abort:  # Ctrl-C (click turns KeyboardInterrupt into Abort)
        click.echo("downhill: stopped", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except ExpressionError as error:
        click.echo(f"downhill: {_one_line(error)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except DownhillError as error:
        click.echo(f"downhill: {shorten(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__, 400)}",
                   err=True)
        sys.exit(EXIT_BAD_INPUT)
    except OSError as error:  # a file or folder the user named cannot be written (or a port is taken)
        where = f" {error.filename}" if error.filename else ""
        click.echo(f"downhill: cannot write{where}: {error.strerror or error}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except Exception:  # noqa: BLE001 - anything else is a bug: show where, and ask for a report
        traceback.print_exc()
        click.echo(REPORT_BUG, err=True)
        sys.exit(EXIT_BUG)


if __name__ == "__main__":  # pragma: no cover
    main()
