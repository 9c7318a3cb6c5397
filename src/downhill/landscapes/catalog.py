"""The classic 2-D test mountains, with their domains and known minima.

Formulas, domains and minima follow Wikipedia's "Test functions for optimization"
and the SFU Virtual Library of Simulation Experiments (Surjanovic & Bingham), as
checked in the project's REFERENCE.md. Where a minimizer is not a round number it
is given to full double precision: derived in closed form where one exists
(McCormick), otherwise found by Newton's method at 40 digits (mpmath) and rounded.
"""

from __future__ import annotations

import difflib
import math

from ..errors import UnknownNameError, shorten
from .landscape import Landscape, from_expression

__all__ = ["get", "names"]

_PI = math.pi

_CATALOG = (
    Landscape(
        name="sphere",
        formula="x**2 + y**2",
        variables=("x", "y"),
        domain=((-5.12, 5.12), (-5.12, 5.12)),
        minima=[((0.0, 0.0), 0.0)],
        smooth=True,
        many_local_minima=False,
        description="A round bowl, the easiest mountain to descend; its minimum is the origin.",
        start=(-4.0, 3.0),
    ),
    Landscape(
        name="booth",
        formula="(x + 2*y - 7)**2 + (2*x + y - 5)**2",
        variables=("x", "y"),
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        minima=[((1.0, 3.0), 0.0)],
        smooth=True,
        many_local_minima=False,
        description="A tilted, stretched bowl whose one minimum sits at (1, 3).",
        start=(-6.0, -6.0),
    ),
    Landscape(
        name="matyas",
        formula="0.26*(x**2 + y**2) - 0.48*x*y",
        variables=("x", "y"),
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        minima=[((0.0, 0.0), 0.0)],
        smooth=True,
        many_local_minima=False,
        description=(
            "A bowl that is almost flat along the diagonal, "
            "so the slope there is gentle and progress slow."
        ),
        start=(6.0, -8.0),
    ),
    Landscape(
        name="rosenbrock",
        formula="100*(y - x**2)**2 + (1 - x)**2",
        variables=("x", "y"),
        domain=((-2.048, 2.048), (-2.048, 2.048)),
        minima=[((1.0, 1.0), 0.0)],
        smooth=True,
        many_local_minima=False,
        description=(
            "A long, curved, banana-shaped valley: reaching the valley is easy, "
            "following it to (1, 1) is hard."
        ),
        notes="The domain is SFU's [-2.048, 2.048]; SFU also uses [-5, 10].",
        start=(-1.5, 2.0),
    ),
    Landscape(
        name="himmelblau",
        formula="(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
        variables=("x", "y"),
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=[
            ((3.0, 2.0), 0.0),
            ((-2.8051180869527449, 3.1313125182505730), 0.0),
            ((-3.7793102533777469, -3.2831859912861694), 0.0),
            ((3.5844283403304917, -1.8481265269644036), 0.0),
        ],
        local_maxima=[((-0.27084459066734761, -0.92303855647998146), 181.61652152258270)],
        smooth=True,
        many_local_minima=False,
        description="Four equally deep minima: where the climber starts decides where it ends.",
        notes="The local maximum near (-0.27, -0.92) makes a good start for walking uphill.",
        start=(0.5, -0.5),
    ),
    Landscape(
        name="beale",
        formula="(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
        variables=("x", "y"),
        domain=((-4.5, 4.5), (-4.5, 4.5)),
        minima=[((3.0, 0.5), 0.0)],
        smooth=True,
        many_local_minima=False,
        description=(
            "Flat plateaus and steep ridges out towards the corners, "
            "around one minimum at (3, 0.5)."
        ),
        start=(1.0, 1.0),
    ),
    Landscape(
        name="three_hump_camel",
        formula="2*x**2 - 1.05*x**4 + x**6/6 + x*y + y**2",
        variables=("x", "y"),
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=[((0.0, 0.0), 0.0)],
        smooth=True,
        many_local_minima=False,
        description="Three valleys: the deepest at the origin, and a shallower one on each side.",
        start=(2.0, -2.0),
    ),
    Landscape(
        name="six_hump_camel",
        formula="(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (-4 + 4*y**2)*y**2",
        variables=("x", "y"),
        domain=((-3.0, 3.0), (-2.0, 2.0)),
        minima=[
            ((0.089842013100318062, -0.71265640302073963), -1.0316284534898774),
            ((-0.089842013100318062, 0.71265640302073963), -1.0316284534898774),
        ],
        smooth=True,
        many_local_minima=False,
        description="Six valleys, two of which are equally deep global minima.",
        start=(-1.5, 1.0),
    ),
    Landscape(
        name="goldstein_price",
        formula=(
            "(1 + (x + y + 1)**2*(19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))"
            " * (30 + (2*x - 3*y)**2*(18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2))"
        ),
        variables=("x", "y"),
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        minima=[((0.0, -1.0), 3.0)],
        smooth=True,
        many_local_minima=False,
        description=(
            "Heights that span six orders of magnitude, "
            "with a few local minima around the global one at (0, -1)."
        ),
        notes=(
            "Its values run from 3 to about 1e6: a fixed learning rate that suits one part "
            "overshoots in another."
        ),
        start=(-1.0, 1.0),
    ),
    Landscape(
        name="mccormick",
        formula="sin(x + y) + (x - y)**2 - 1.5*x + 2.5*y + 1",
        variables=("x", "y"),
        domain=((-1.5, 4.0), (-3.0, 4.0)),
        # The gradient is zero where cos(x + y) = -1/2 and x - y = 1, so the minimum
        # is at x + y = -2*pi/3: x = 1/2 - pi/3, y = -1/2 - pi/3, f = -sqrt(3)/2 - pi/3.
        minima=[((0.5 - _PI / 3, -0.5 - _PI / 3), -math.sqrt(3) / 2 - _PI / 3)],
        smooth=True,
        many_local_minima=False,
        description="A tilted slope with a gentle valley, whose minimum is not at a round number.",
        start=(3.0, 3.0),
    ),
    Landscape(
        name="styblinski_tang",
        formula="(x**4 - 16*x**2 + 5*x + y**4 - 16*y**2 + 5*y)/2",
        variables=("x", "y"),
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        # Each coordinate is the smallest root of 4t^3 - 32t + 5 = 0.
        minima=[((-2.9035340277711771, -2.9035340277711771), -78.332331407542831)],
        smooth=True,
        many_local_minima=False,
        description="Four valleys at the corners of a square; the deepest lies near (-2.9, -2.9).",
        notes="The minimum is -39.16617 per dimension (SFU's -39.16599 is a misprint).",
        start=(4.0, 4.0),
    ),
    Landscape(
        name="rastrigin",
        formula="20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
        variables=("x", "y"),
        domain=((-5.12, 5.12), (-5.12, 5.12)),
        minima=[((0.0, 0.0), 0.0)],
        smooth=True,
        many_local_minima=True,
        description="An egg crate: a bowl covered with a regular grid of local minima.",
        start=(3.2, -2.1),
    ),
    Landscape(
        name="ackley",
        formula=(
            "-20*exp(-0.2*sqrt(0.5*(x**2 + y**2))) - exp(0.5*(cos(2*pi*x) + cos(2*pi*y))) + e + 20"
        ),
        variables=("x", "y"),
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        minima=[((0.0, 0.0), 0.0)],
        smooth=False,
        many_local_minima=True,
        description="A nearly flat, bumpy plain with one deep, narrow hole at the origin.",
        # Numerically fair: at (0, 0) the sum -20 - e + e + 20 happens to round to
        # exactly 0, but near it the value carries an absolute rounding error of
        # about 1e-15 from cancelling numbers near 20.
        notes=(
            "Not differentiable at the minimum (the square root of 0), so the gradient "
            "is undefined there and descent jitters around it."
        ),
        start=(2.2, -1.6),
    ),
    Landscape(
        name="levi13",
        formula=(
            "sin(3*pi*x)**2 + (x - 1)**2*(1 + sin(3*pi*y)**2) + (y - 1)**2*(1 + sin(2*pi*y)**2)"
        ),
        variables=("x", "y"),
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        minima=[((1.0, 1.0), 0.0)],
        smooth=True,
        many_local_minima=True,
        description=(
            "Ripples of sines over a bowl, with many local minima around the global one at (1, 1)."
        ),
        start=(-4.0, 5.0),
    ),
    Landscape(
        name="easom",
        formula="-cos(x)*cos(y)*exp(-((x - pi)**2 + (y - pi)**2))",
        variables=("x", "y"),
        domain=((-100.0, 100.0), (-100.0, 100.0)),
        minima=[((_PI, _PI), -1.0)],
        smooth=True,
        many_local_minima=True,
        description=(
            "Flat almost everywhere, with one small deep hole at (pi, pi): "
            "from far away the slope gives no hint."
        ),
        notes="The ripples away from the hole are local minima too, exponentially shallow.",
        start=(2.5, 2.5),
    ),
    Landscape(
        name="bukin6",
        formula="100*sqrt(abs(y - 0.01*x**2)) + 0.01*abs(x + 10)",
        variables=("x", "y"),
        domain=((-15.0, -5.0), (-3.0, 3.0)),
        minima=[((-10.0, 1.0), 0.0)],
        smooth=False,
        many_local_minima=True,
        description=(
            "A narrow curved ridge with a crease along it, "
            "and many local minima lying in the crease."
        ),
        notes="Not differentiable along the curve y = 0.01 x^2 (and at x = -10).",
        start=(-8.0, 2.0),
    ),
)

_BY_NAME = {landscape.name: landscape for landscape in _CATALOG}


def names() -> tuple[str, ...]:
    """The names of the test mountains in the catalog, easiest first.

    >>> names()[:3]
    ('sphere', 'booth', 'matyas')
    """
    return tuple(_BY_NAME)


def resolve(spec) -> Landscape:
    """A Landscape from a Landscape, a catalog name, or a formula a person typed.

    A bare word that is not a variable name (x, y, z) is taken as a catalog
    name, so a typo gets the catalog's suggestion rather than a formula error.

    >>> resolve("Himmelblau").name, resolve("x**2 + y").formula
    ('himmelblau', 'x**2 + y')
    >>> resolve("rosenbrok")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    downhill.errors.UnknownNameError: unknown landscape 'rosenbrok'; did you mean 'rosenbrock'? ...
    """
    if isinstance(spec, Landscape):
        return spec
    text = str(spec).strip()
    key = text.lower().replace("-", "_").replace(" ", "_")
    if key in _BY_NAME or (text.isidentifier() and text not in ("x", "y", "z")):
        return get(text)
    return from_expression(text)


def get(name: str) -> Landscape:
    """The test mountain called ``name`` (case, spaces and hyphens do not matter).

    >>> get("Goldstein-Price").minima[0].value
    3.0
    >>> get("rosenbrok")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
      ...
    downhill.errors.UnknownNameError: unknown landscape 'rosenbrok'; did you mean 'rosenbrock'? ...
    """
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    if key in _BY_NAME:
        return _BY_NAME[key]
    close = difflib.get_close_matches(key, list(_BY_NAME), n=3) if len(key) <= 100 else []
    suggestion = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "."
    raise UnknownNameError(
        f"unknown landscape {shorten(str(name))!r}{suggestion} The landscapes are: {', '.join(_BY_NAME)}."
    )
