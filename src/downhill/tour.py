"""The tour: the whole module in pictures, numbers and plain sentences.

``downhill tour --out DIR`` (or :func:`run_tour`) walks through the five
ideas, the speedometer, the foggy mountain, gradient descent, the bicycle
chain and the learning rate, writes each picture, and writes an index page
(``index.html``) that puts each picture beside a few sentences and the numbers
behind it. Every number comes from the library; this module only arranges.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import write_atomically


@dataclass
class Stop:
    """One stop of the tour: a title, sentences, numbers, and picture files."""

    key: str
    title: str
    idea: str
    sentences: list = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    pictures: list = field(default_factory=list)


def _speedometer(out: Path) -> Stop:
    from . import viz
    from .autodiff import numerical_derivative
    from .explain import derivative_at

    reading = derivative_at("x**3 - 3*x", 1.5)
    measured = numerical_derivative(lambda x: x**3 - 3 * x, 1.5)
    viz.speedometer(lambda x: x**3 - 3 * x, 1.5, save=out / "1-speedometer.png")
    viz.car_trip(lambda t: 5 * t**2, 2.0, dt=1.0, save=out / "1-car-trip.png")
    return Stop(
        "speedometer", "1. The derivative: a speedometer", "how fast something changes right now",
        [
            "A speedometer does not tell you how far you went, but how fast you are going at this very "
            "instant. The derivative does the same for a function: the slope of the tangent line.",
            reading.sentence,
            "On the car trip, distance 5·t²: the average speed over a second (the secant) closes in on "
            "the speed at one instant (the tangent) as the interval shrinks; at t = 2 the speedometer "
            "reads exactly 20.",
        ],
        {"f(x)": reading.formula, "x": reading.x, "f'(x) by the chain rule": reading.slope,
         "f'(x) measured by central differences": measured},
        ["1-speedometer.png", "1-car-trip.png"],
    )


def _gradient(out: Path) -> Stop:
    from . import viz
    from .explain import gradient_at

    point = [0.5, -1.0]
    reading = gradient_at("himmelblau", point)
    viz.mountain("himmelblau", at=point, field=True, save=out / "2-foggy-mountain.png")
    viz.mountain("himmelblau", field=False, surface=True, title="Himmelblau from above and from the side",
                 save=out / "2-surface.png")
    return Stop(
        "gradient", "2. The gradient: which way is downhill", "on a foggy mountain, feel which way is down",
        [
            "In fog you cannot see the valley, but your feet feel the slope. The gradient is that "
            "feeling in numbers: it points uphill, and its length says how steep it is.",
            reading.sentence,
            "On the map every white arrow is the negative gradient at its spot: the way a ball would "
            "roll. The black arrow is the answer at (0.5, -1), from the numbers below.",
        ],
        {"point": reading.point, "value": reading.value, "gradient": reading.gradient,
         "steepness": reading.steepness, "downhill direction": reading.downhill},
        ["2-foggy-mountain.png", "2-surface.png"],
    )


def _descent(out: Path) -> Stop:
    from . import viz
    from .optim.compare import compare_optimizers
    from .optim.descend import descend

    starts = np.array([[0.0, 0.0], [-4.0, 4.0], [-1.0, -4.0], [1.0, -1.0]])
    walk = descend("himmelblau", starts, lr=0.01, steps=300)
    viz.mountain("himmelblau", paths=[walk], field=False,
                 title="Four climbers, four valleys", save=out / "3-descent.png")
    viz.animate("himmelblau", [walk], save=out / "3-walk.gif", frames=36)
    runs = compare_optimizers("rosenbrock", [-1.5, 2.0],
                              [("sgd", "sgd", {}), ("momentum", "sgd", {"momentum": 0.9}), ("adam", "adam", {})],
                              lrs=[1e-3, 1e-3, 0.05], steps=3000)
    viz.compare("rosenbrock", {f"{r.label} (lr={r.lr:g})": r.trajectory for r in runs},
                save=out / "3-race.png")
    finals = {f"climber from {tuple(s)}": [round(v, 4) for v in p] for s, p in zip(starts.tolist(),
                                                                                      walk.final_point.tolist())}
    race = {f"{r.label}: value after {r.trajectory.steps_taken} steps": r.trajectory.final_value for r in runs}
    return Stop(
        "descent", "3. Gradient descent: feel the ground, take a step, repeat", "step downhill, again and again",
        [
            "Each climber feels the slope where it stands, takes a small step the other way, and "
            "repeats. Where it ends depends on where it starts: Himmelblau has four valleys.",
            "On Rosenbrock's long curved valley plain steps crawl; momentum remembers the way it was "
            "going and Adam scales each step to the terrain, so both get down faster.",
        ],
        {**finals, **race},
        ["3-descent.png", "3-walk.gif", "3-race.png"],
    )


def _chain(out: Path) -> Stop:
    from . import viz
    from .autodiff import Tensor, sigmoid
    from .autodiff.graph import graph_of
    from .datasets import moons
    from .nn import gradient_report
    from .nn.recipes import train_classifier

    w = Tensor(0.5, requires_grad=True)
    x = Tensor(2.0, requires_grad=True)
    b = Tensor(-1.0, requires_grad=True)
    error = (sigmoid(w * x + b) - 1) ** 2
    names = {"w": w, "x": x, "b": b}
    g = graph_of(error, names=names)
    viz.graph(error, names=names, title="The chain rule, link by link", save=out / "4-chain.png")
    result = train_classifier("moons", hidden=[16, 16], epochs=60, lr=0.02, progress=False)
    X, y = moons(400, noise=0.1, seed=0)
    viz.decision_boundary(result.model, X, y, save=out / "4-boundary.png")
    viz.training(result.history, save=out / "4-training.png")
    # One more backward pass, to show the gradient arriving at each layer.
    from .autodiff import tensor
    from .nn import CrossEntropyLoss

    result.model.zero_grad()
    CrossEntropyLoss()(result.model(tensor(X)), tensor(y)).backward()
    report = gradient_report(result.model)
    viz.layers(report, save=out / "4-layers.png")
    w_grad = next(node for node in g.to_dict()["nodes"] if node.get("name") == "w")["grad"]
    return Stop(
        "chain", "4. The chain rule: a bicycle chain", "turn layer 1 and layer 10 feels it",
        [
            "Pedal at the front and the back wheel turns: every link passes the motion on. The chain "
            "rule multiplies the local derivatives along the links, from the output back to each weight.",
            f"For the error (sigmoid(w·x + b) − 1)² the product along the chain gives d error / d w = "
            f"{w_grad:.6g}, the number the picture writes out link by link.",
            f"A network of three layers learned to separate the two moons: "
            f"{result.test_accuracy:.1%} of held-out points are classified right.",
        ],
        {"d error / d w": w_grad, "held-out accuracy": f"{result.test_accuracy:.1%}",
         "training accuracy": f"{result.train_accuracy:.1%}",
         "gradient norm per layer": {row.name: row.norm for row in report.rows}},
        ["4-chain.png", "4-boundary.png", "4-training.png", "4-layers.png"],
    )


def _learning_rate(out: Path) -> Stop:
    from . import viz
    from .optim.basins import basins
    from .optim.descend import descend
    from .optim.lr_tools import lr_advice, lr_sweep
    from .optim.three_rates import three_rates

    start = [0.0, 0.0]
    advice = lr_advice("booth", start)
    sweep = lr_sweep("booth", start, np.logspace(-4, 0, 13), steps=200)
    viz.lr_sweep_plot(sweep, bound=advice, save=out / "5-lr-sweep.png")
    bound = advice.max_stable_lr
    # The three rates come from real climbs (three_rates), so each label says
    # what its climber does; their colours are the sweep's zone colours.
    rates = three_rates("booth", steps=100)
    choices = (rates.small, rates.good, rates.big)
    runs = {f"{c.kind} (lr={c.lr:.2g})": descend("booth", rates.start, lr=c.lr, steps=100) for c in choices}
    viz.compare("booth", runs, title="Three learning rates, one start", save=out / "5-three-rates.png",
                colors=[viz.learning_rate.ZONE_DARK[c.kind] for c in choices])
    basin_map = basins("himmelblau", lr=0.01, grid=80, steps=300)
    viz.basins_plot(basin_map, save=out / "5-basins.png")
    labels = {row.lr: row.label for row in sweep.rows}
    return Stop(
        "learning-rate", "5. The learning rate: the size of each step",
        "too big and you fall off, too small and you never arrive",
        [
            "The learning rate is how far you step each time. Too small and you are still on the "
            "mountainside when the day ends; too big and you leap across the valley, higher each time, "
            "until you fall off.",
            advice.message,
            str(rates),
            "The basin map drops a climber on every point of a grid and colours each start by the "
            "valley it reaches.",
        ],
        {"curvature L": advice.curvature, "largest stable step 2/L": bound,
         "verdicts": {f"{lr:.3g}": label for lr, label in labels.items()},
         "basin shares": {str(k): v for k, v in basin_map.to_dict().get("counts", {}).items()}},
        ["5-lr-sweep.png", "5-three-rates.png", "5-basins.png"],
    )


STOPS = (_speedometer, _gradient, _descent, _chain, _learning_rate)


def _format(value):
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_format(v) for v in value) + ")"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_format(v)}" for k, v in value.items())
    return str(value)


def _is_wide(path: Path) -> bool:
    """A picture much wider than tall (the chain, the race) gets the page's whole width."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            width, height = image.size
    except (OSError, ValueError):
        return False
    return width > 1.6 * height


def _figure(stop, name: str) -> str:
    # Each picture links to itself: a click opens it at full size (said on small screens,
    # where a wide picture's words are too small to read in the page).
    source = html.escape(name)
    return (f'<figure><a href="{source}" title="open the picture at full size">'
            f'<img src="{source}" alt="{html.escape(stop.title)}: {source}"></a>'
            f'<figcaption><a href="{source}">open at full size</a></figcaption></figure>')


def _figure_all(stop, names) -> str:
    return "\n".join(_figure(stop, name) for name in names)


def _arrange(pictures, wide):
    """(above, beside, below): where the stop's pictures go, its first picture first.

    Wide pictures take the page's width. The stop's first picture leads it:
    above the words when it is wide, else beside them; the other wide ones go
    below the words, so a stop never opens on a side picture (the car trip
    came before the speedometer, the 3-D view before the foggy mountain's map).

    >>> _arrange(["a", "W", "b", "V"], {"W", "V"})
    ([], ['a', 'b'], ['W', 'V'])
    >>> _arrange(["W", "a", "V"], {"W", "V"})
    (['W'], ['a'], ['V'])
    """
    above = pictures[:1] if pictures and pictures[0] in wide else []
    beside = [p for p in pictures if p not in wide]
    below = [p for p in pictures if p in wide and p not in above]
    return above, beside, below


def _page(stops, seconds, out: Path | None = None) -> str:
    parts = []
    for stop in stops:
        wide = {p for p in stop.pictures if out is not None and _is_wide(out / p)}
        above, beside, below = (_figure_all(stop, part) for part in _arrange(stop.pictures, wide))
        sentences = "\n".join(f"<p>{html.escape(s)}</p>" for s in stop.sentences)
        numbers = "\n".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_format(v))}</td></tr>"
                            for k, v in stop.numbers.items())
        parts.append(f"""<section id="{stop.key}">
<h2>{html.escape(stop.title)}</h2>
<p class="idea">{html.escape(stop.idea)}</p>
<div class="wide">{above}</div>
<div class="stop"><div class="pictures">{beside}</div>
<div class="words">{sentences}<table>{numbers}</table></div></div>
<div class="wide">{below}</div>
</section>""")
    toc = " · ".join(f'<a href="#{s.key}">{html.escape(s.title.split(": ")[-1])}</a>' for s in stops)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>downhill: the mountain climber's tour</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }}
h1 {{ margin-bottom: 0.2em; }} .idea {{ color: #666; font-style: italic; margin-top: 0; }}
.stop {{ display: flex; gap: 2em; flex-wrap: wrap; }} .pictures {{ flex: 3; min-width: min(380px, 100%); }}
.words {{ flex: 2; min-width: min(300px, 100%); }} img {{ max-width: 100%; border: 1px solid #ddd; }}
figure {{ margin: 0 0 1em 0; }} figcaption {{ display: none; font-size: 0.85em; }}
@media (max-width: 700px) {{ figcaption {{ display: block; }} }} table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #eee; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
section {{ margin-bottom: 3em; }}
</style></head><body>
<h1>The mountain climber's tour</h1>
<p>Five ideas, each drawn in a few pictures (click one to open it at full size). Python does all the
hard math: every number below was computed by downhill while this page was written ({seconds:.1f} s).</p>
<nav>{toc}</nav>
{chr(10).join(parts)}
</body></html>
"""


def run_tour(out="downhill-tour", echo=print) -> Path:
    """Write the tour's pictures and ``index.html`` into ``out``; return the page's path.

    >>> import tempfile, downhill.tour as tour
    >>> page = tour.run_tour(tempfile.mkdtemp(), echo=lambda *a: None)  # doctest: +SKIP
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    stops = []
    try:
        from tqdm import tqdm

        bar = tqdm(STOPS, desc="tour", unit="idea", leave=False, disable=None)
    except ImportError:  # pragma: no cover - tqdm is a dependency
        bar = STOPS
    for make in bar:
        stop = make(out)
        stops.append(stop)
        echo(f"{stop.title}: " + ", ".join(str(out / p) for p in stop.pictures))
    page = out / "index.html"
    text = _page(stops, time.perf_counter() - start, out).encode("utf-8")
    write_atomically(page, lambda file: file.write(text), what="page")
    return page


__all__ = ["run_tour", "Stop", "STOPS"]
