"""The ``downhill`` command: one subcommand per idea, and a tour of them all.

A thin shell over the library: every number it prints comes from a library
function. Output is for people by default; ``--json`` prints one JSON document
for machines. A divergence is a result (exit 0, status "diverged"). Bad input
gets one line on stderr saying what was wrong and what is accepted, and exit
status 2, never a traceback.
"""

from __future__ import annotations

import json
import math
import os
import sys

import click
import numpy as np

from . import limits
from .errors import InputError, LimitError, shorten

EXIT_BAD_INPUT = 2


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
    from .landscapes import ExpressionError, resolve

    try:
        return resolve(text)
    except ExpressionError as error:
        raise BadInput(_one_line(error)) from None
    except ValueError as error:  # a word that names no landscape
        raise BadInput(f"{str(error).rstrip('.')}; or type a formula in x and y, like 'x**2 + 3*y**2'") from None


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


def _emit(data, as_json, human):
    if as_json:
        click.echo(json.dumps(data, allow_nan=False, default=_json_default))
    else:
        click.echo(human)


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")


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


OPTIMIZER_ALIASES = {
    "momentum": ("sgd", {"momentum": 0.9}),
    "nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
}


def _optimizer(name, momentum=None, nesterov=False, beta1=None, beta2=None):
    """An optimizer name (or the aliases momentum, nesterov) and its options."""
    from .optim import names

    key = name.strip().lower()
    if key in OPTIMIZER_ALIASES:
        base, options = OPTIMIZER_ALIASES[key]
        options = dict(options)
    elif key in names():
        base, options = key, {}
    else:
        accepted = ", ".join([*names(), *OPTIMIZER_ALIASES])
        raise BadInput(f"unknown optimizer {shorten(name)!r}; accepted: {accepted}")
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


# ------------------------------------------------------------------ commands
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
    """


@cli.command()
@_formula_input("FORMULA")
@click.option("--at", "at", required=True, help="The point x, e.g. --at 2")
@click.option("--plot", help="Save the speedometer picture (PNG, SVG or PDF).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of sentences.")
def derivative(formula, formula_option, at, plot, as_json):
    """The derivative of a one-variable FORMULA at a point (the speedometer)."""
    from .explain import derivative_at

    formula = _formula(formula, formula_option)
    (x,) = _numbers(at, "--at", 1)
    _picture_path(plot, "--plot")
    landscape = _landscape(formula)
    try:
        reading = derivative_at(landscape, x)
    except ValueError as error:
        raise BadInput(str(error)) from None
    _emit(reading.to_dict(), as_json,
          f"f(x) = {reading.formula}\nf({x:g}) = {reading.value:.10g}\nf'({x:g}) = {reading.slope:.10g}\n"
          f"{reading.sentence}")
    _draw(plot, as_json, "speedometer", lambda t: landscape(t), x)


@cli.command()
@_formula_input("FORMULA")
@click.option("--at", "at", required=True, help="The point, e.g. --at 1,2")
@click.option("--plot", help="Save the map with the arrow downhill (PNG, SVG or PDF).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of sentences.")
def gradient(formula, formula_option, at, plot, as_json):
    """The gradient of FORMULA (or a landscape name) at a point: which way is downhill."""
    from .explain import gradient_at

    formula = _formula(formula, formula_option)
    _picture_path(plot, "--plot")
    landscape = _landscape(formula)
    point = _numbers(at, "--at", len(landscape.variables))
    if plot and len(landscape.variables) != 2:
        raise BadInput("--plot draws a map, which needs a formula of two variables")
    try:
        reading = gradient_at(landscape, point)
    except ValueError as error:
        raise BadInput(str(error)) from None
    vector = ", ".join(f"{g:.10g}" for g in reading.gradient)
    down = ", ".join(f"{d:.6f}" for d in reading.downhill)
    _emit(reading.to_dict(), as_json,
          f"f = {reading.formula}\nvalue     = {reading.value:.10g}\ngradient  = ({vector})\n"
          f"downhill  = ({down})\nsteepness = {reading.steepness:.10g}\n{reading.sentence}")
    if plot:
        # The point and one short step downhill from it, drawn as a little path.
        lo, hi = np.array(landscape.domain).T
        step = 0.08 * float(np.min(hi - lo)) * np.asarray(reading.downhill)
        _draw(plot, as_json, "mountain", landscape, paths=[np.array([point, np.asarray(point) + step])], field=True)


def _descend_options(f):
    f = click.option("--start", required=True, help="Starting point, e.g. --start -1.5,2")(f)
    f = click.option("--optimizer", default="sgd", show_default=True,
                     help="sgd, momentum, nesterov, adam, adamw, rmsprop, adagrad")(f)
    f = click.option("--lr", type=float, default=0.01, show_default=True, help="Learning rate.")(f)
    f = click.option("--steps", type=int, default=1000, show_default=True,
                     help=f"Most steps to take (0 to {limits.MAX_STEPS:,}).")(f)
    f = click.option("--momentum", type=float, default=None, help="Momentum (sgd, rmsprop).")(f)
    f = click.option("--nesterov", is_flag=True, help="Nesterov momentum (sgd).")(f)
    f = click.option("--beta1", type=float, default=None, help="Adam's beta1.")(f)
    f = click.option("--beta2", type=float, default=None, help="Adam's beta2.")(f)
    f = click.option("--tol", type=float, default=1e-8, show_default=True,
                     help="Stop when the slope is at most this.")(f)
    return f


@cli.command()
@_formula_input("LANDSCAPE")
@_descend_options
@click.option("--plot", help="Save the path on the map (PNG, SVG or PDF).")
@click.option("--animate", help="Save the climb as an animated GIF.")
@click.option("--json", "as_json", is_flag=True, help="Print the trajectory as JSON.")
def descend(landscape, formula_option, start, optimizer, lr, steps, momentum, nesterov, beta1, beta2, tol,
            plot, animate, as_json):
    """Walk down LANDSCAPE (a name or a formula) from --start."""
    from .optim.descend import descend as climb

    landscape = _formula(landscape, formula_option, "LANDSCAPE")
    limits.whole_number(steps, "--steps", 0, limits.MAX_STEPS)
    _picture_path(plot, "--plot")
    _picture_path(animate, "--animate", (".gif",))
    surface = _landscape(landscape)
    point = _numbers(start, "--start", len(surface.variables))
    name, options = _optimizer(optimizer, momentum, nesterov, beta1, beta2)
    _lr(lr)
    if (plot or animate) and len(surface.variables) != 2:
        raise BadInput("--plot and --animate draw a map, which needs a landscape of two variables")
    try:
        trajectory = climb(surface, point, optimizer=name, lr=lr, steps=steps, tol=tol, **options)
    except (ValueError, TypeError) as error:
        raise BadInput(str(error).splitlines()[0]) from None
    final = ", ".join(f"{v:.10g}" for v in trajectory.final_point)
    settings = "".join(f", {k}={v}" for k, v in options.items())
    human = (f"{surface.name}: {surface.formula}\noptimizer {name}{settings}, lr={lr:g}\n"
             f"status: {trajectory.status} after {trajectory.steps_taken} steps\n"
             f"final point: ({final})\nfinal value: {trajectory.final_value:.10g}\n"
             f"{trajectory.summary()}")
    _emit(trajectory.to_dict(), as_json, human)
    _draw(plot, as_json, "mountain", surface, paths=[trajectory])
    _draw(animate, as_json, "animate", surface, [trajectory], kind="animation")


@cli.command()
@_formula_input("LANDSCAPE")
@click.option("--start", required=True, help="Starting point, e.g. --start -1.5,2")
@click.option("--optimizers", default="sgd,momentum,adam", show_default=True,
              help=f"Comma-separated optimizers to race (at most {limits.MAX_RACERS}).")
@click.option("--lrs", default=None, help="Comma-separated learning rates, one per optimizer (or one for all).")
@click.option("--steps", type=int, default=1000, show_default=True,
              help=f"Most steps of each climb (0 to {limits.MAX_STEPS:,}; "
                   f"optimizers x steps at most {limits.MAX_SWEEP_WORK:,}).")
@click.option("--plot", help="Save the race on one map with loss curves (PNG, SVG or PDF).")
@click.option("--json", "as_json", is_flag=True)
def compare(landscape, formula_option, start, optimizers, lrs, steps, plot, as_json):
    """Race several optimizers down LANDSCAPE from the same start."""
    from .optim.compare import compare_optimizers

    landscape = _formula(landscape, formula_option, "LANDSCAPE")
    limits.whole_number(steps, "--steps", 0, limits.MAX_STEPS)
    _picture_path(plot, "--plot")
    surface = _landscape(landscape)
    point = _numbers(start, "--start", len(surface.variables))
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
    lines = [f"{'optimizer':<12} {'lr':>8}  {'status':<10} {'steps':>6}  final value"]
    for run in runs:
        lines.append(f"{run.label:<12} {run.lr:>8g}  {run.trajectory.status:<10} "
                     f"{run.trajectory.steps_taken:>6}  {run.trajectory.final_value:.6g}")
    _emit([{"label": r.label, "lr": r.lr, **r.trajectory.to_dict()} for r in runs], as_json, "\n".join(lines))
    _draw(plot, as_json, "compare", surface, {f"{r.label} (lr={r.lr:g})": r.trajectory for r in runs})


@cli.command("lr-sweep")
@_formula_input("LANDSCAPE")
@click.option("--start", required=True, help="Starting point, e.g. --start 0,0")
@click.option("--lrs", default=None,
              help=f"Comma-separated learning rates (default: 12 from 1e-5 to 10; at most {limits.MAX_RATES:,}).")
@click.option("--optimizer", default="sgd", show_default=True)
@click.option("--steps", type=int, default=200, show_default=True,
              help=f"Most steps of each climb (0 to {limits.MAX_STEPS:,}; "
                   f"rates x steps at most {limits.MAX_SWEEP_WORK:,}).")
@click.option("--plot", help="Save final value against learning rate (PNG, SVG or PDF).")
@click.option("--json", "as_json", is_flag=True)
def lr_sweep_command(landscape, formula_option, start, lrs, optimizer, steps, plot, as_json):
    """Run one climb at many learning rates: which are too small, good, too big."""
    from .optim.lr_tools import lr_advice, lr_sweep

    landscape = _formula(landscape, formula_option, "LANDSCAPE")
    limits.whole_number(steps, "--steps", 0, limits.MAX_STEPS)
    _picture_path(plot, "--plot")
    surface = _landscape(landscape)
    point = _numbers(start, "--start", len(surface.variables))
    rates = _numbers(lrs, "--lrs") if lrs else np.logspace(-5, 1, 12).tolist()
    if any(r < 0 for r in rates):
        raise BadInput("--lrs must be numbers >= 0")
    if len(rates) > limits.MAX_RATES:
        raise LimitError(f"--lrs sweeps at most {limits.MAX_RATES:,} learning rates; got {len(rates):,}")
    limits.work(len(rates), steps, limits.MAX_SWEEP_WORK, "learning rates")
    name, options = _optimizer(optimizer)
    with np.errstate(all="ignore"):
        sweep = lr_sweep(surface, point, rates, optimizer=name, steps=steps, progress=not as_json, **options)
    advice = None
    try:
        advice = lr_advice(surface, point)
    except ValueError:
        pass
    diverged = [r.lr for r in sweep.rows if r.status == "diverged"]
    human = sweep.table()
    human += "\n" + (f"diverged (fell off the mountain): {', '.join(f'{r:g}' for r in diverged)}"
                     if diverged else "no learning rate diverged")
    if advice is not None:
        human += "\n" + advice.message
    data = sweep.to_dict()
    if advice is not None:
        data["max_stable_lr"] = advice.max_stable_lr if math.isfinite(advice.max_stable_lr) else None
    _emit(data, as_json, human)
    _draw(plot, as_json, "lr_sweep_plot", sweep, bound=advice if advice is not None else False)


@cli.command()
@_formula_input("LANDSCAPE")
@click.option("--optimizer", default="sgd", show_default=True)
@click.option("--lr", type=float, default=0.01, show_default=True)
@click.option("--steps", type=int, default=200, show_default=True,
              help=f"Most steps of each climb (0 to {limits.MAX_STEPS:,}; "
                   f"starts x steps at most {limits.MAX_BASIN_WORK:,}).")
@click.option("--grid", type=int, default=60, show_default=True,
              help=f"Starts per side of the grid (2 to {limits.MAX_GRID:,}).")
@click.option("--plot", help="Save the basin map (PNG, SVG or PDF).")
@click.option("--json", "as_json", is_flag=True)
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
    _emit(result.to_dict(), as_json, result.summary())
    _draw(plot, as_json, "basins_plot", result)


@cli.command()
@_formula_input("FORMULA")
@click.option("--at", "at", required=True, help="The point, e.g. --at 1,2")
@click.option("--out", help="Save the graph picture (PNG, SVG or PDF).")
@click.option("--json", "as_json", is_flag=True)
def graph(formula, formula_option, at, out, as_json):
    """The computational graph of FORMULA at a point: the chain rule, link by link."""
    from .autodiff.graph import graph_of
    from .autodiff.tensor import Tensor
    from .landscapes.namespaces import DOWNHILL_FUNCTIONS

    formula = _formula(formula, formula_option)
    _picture_path(out, "--out")
    surface = _landscape(formula)
    point = _numbers(at, "--at", len(surface.variables))
    inputs = [Tensor(np.float64(v), requires_grad=True) for v in point]
    with np.errstate(all="ignore"):
        value = surface.expression.evaluate(inputs, DOWNHILL_FUNCTIONS)
    if not np.all(np.isfinite(value.data)):
        raise BadInput(f"{surface.formula!r} has no finite value at {point}")
    names = dict(zip(surface.variables, inputs))
    result = graph_of(value, names=names)
    _emit(result.to_dict(), as_json, result.table())
    _draw(out, as_json, "graph", value, names=names)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def landscapes(as_json):
    """The test mountains: names, formulas, known minima."""
    from .landscapes import get, names

    rows = []
    for name in names():
        land = get(name)
        rows.append({
            "name": land.name, "formula": land.formula, "domain": [list(d) for d in land.domain],
            "minima": [{"point": list(m.point), "value": m.value} for m in land.minima],
            "smooth": land.smooth, "many_local_minima": land.many_local_minima,
        })
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
@click.option("--lr", type=float, default=0.05, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--plot", help="Save loss/accuracy curves (PNG, SVG or PDF).")
@click.option("--json", "as_json", is_flag=True)
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
    result = train_classifier(dataset, hidden=sizes, epochs=epochs, lr=lr, seed=seed, progress=not as_json)
    _emit(result.to_dict(), as_json, result.summary())
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
def serve(host, port, open_browser):
    """The playground: a local web page to play with the five ideas."""
    from .web.server import serve as run_server

    if not 0 <= port <= 65535:
        raise BadInput(f"--port must be between 0 and 65535, got {port}")
    try:
        run_server(host=host, port=port, open_browser=open_browser)
    except OSError as error:
        raise BadInput(str(error).splitlines()[0]) from None


def main(argv=None):
    """Run the command; bad input -> one line on stderr and exit status 2."""
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
    except click.exceptions.Abort:
        click.echo("downhill: stopped", err=True)
        sys.exit(1)
    except ExpressionError as error:
        click.echo(f"downhill: {_one_line(error)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except (ValueError, TypeError) as error:
        click.echo(f"downhill: {shorten(str(error).splitlines()[0], 400)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        click.echo(f"downhill: cannot write{where}: {error.strerror or error}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
